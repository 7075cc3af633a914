"""One stream connection's protocol as a state machine: what happened in, what to do out. Pure: no I/O.

How this works. A :class:`Session` is told what happens on a connection — a
client message, the verdict on a token, a heartbeat tick, a revoked token,
a shutdown — and answers with actions (:class:`Send`, :class:`Close`,
:class:`CheckToken`, :class:`StartReplay`, :class:`Drop`) for
:mod:`hub.stream.handler` to carry out. It never touches a socket or the
store, so every rule of the protocol is tested without either (the shape of
h11, or of websockets' ``protocol.py``). Its phases::

    AUTHENTICATING --auth message--> CHECKING --accept--> OPEN --close--> CLOSED
          (a token in the header is checked before the upgrade: accept at once)

A :class:`Replay` is one subscription's way from ``since`` (or from now) to
live: the connection reads batches from the store after its cursor and hands
them in, the replay says what to send, and it goes live once it has caught up
with the dispatcher.

Gap-free resume: each subscription has a ``cursor``, the id of the last event
it has passed (delivered or filtered out by policy). Any event at or before
the cursor is dropped, so replay and live can overlap without duplicates.
While a subscription replays, the dispatcher skips it; the replay reads the
stream until it is empty *and* the dispatcher has read no further than the
cursor, then turns live in the same step (no await in between), so no event
can fall between replay and live.

Positions handed to the client (``subscribed``'s ``position``, ``gap``'s
``oldest``, ``slow-consumer``'s ``resume``) are never the id of an event it
may not read: such an id would tell it when something it may not see was
posted. The cursor itself often is one (the newest event of the channel,
or the last one a replay passed over), so it stays inside. What goes out
instead is the id of an event the client was sent, or its own ``since``,
or, for a subscription from now that has sent nothing, a position made of
the Redis clock alone (:class:`Replay` says why resuming from it loses and
repeats nothing).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from hub import paging
from hub.events import MAX_SEQUENCE, Event, id_key
from hub.policy import Principal, may_read, may_read_channel, may_use
from hub.stream.protocol import (
    Auth,
    Ping,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    error_message,
    event_message,
    message,
    parse_client_message,
    text_frame,
)


# actions ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Send:
    """Send the client this message (after whatever is queued before it)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection with this WebSocket close code, after what is queued and a last message saying why."""

    code: int
    reason: str
    message: bytes | None = None


@dataclass(frozen=True, slots=True)
class CheckToken:
    """Look the token up; answer with :meth:`Session.accept` or :meth:`Session.refuse`."""

    token: str


@dataclass(frozen=True, slots=True)
class StartReplay:
    """Replay ``channel`` after ``since`` (or from now) and go live, replacing a replay of it still running."""

    channel: str
    since: str | None


@dataclass(frozen=True, slots=True)
class Drop:
    """The client left ``channel``: stop offering it this subscription's events."""

    subscription: Subscription


Action = Send | Close | CheckToken | StartReplay | Drop


class Phase(enum.Enum):
    AUTHENTICATING = "authenticating"  # waiting for {"op": "auth", "token": …}
    CHECKING = "checking"  # the token is being looked up
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Limits:
    """What a connection may hold and how often it hears from the hub."""

    connections_per_stakeholder: int
    heartbeat: float


# subscriptions -----------------------------------------------------------------------------
@dataclass(slots=True)
class Subscription:
    """Where one connection is in one channel."""

    channel: str
    cursor: str
    live: bool = False
    delivered: str | None = None  # the last event written to the client: where it resumes if cut off
    position: tuple[int, int] = field(init=False)  # id_key(cursor), kept with it: compared for every event

    def __post_init__(self) -> None:
        self.position = id_key(self.cursor)

    def passes(self, event_id: str, position: tuple[int, int]) -> bool:
        """Move the cursor to an event if it is new to this subscription; False if already passed."""
        if position <= self.position:
            return False
        self.cursor, self.position = event_id, position
        return True


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """What one batch of a replay sends, in order, and what it passed over."""

    frames: list[tuple[str | None, bytes]]  # (event id, or None for a control message; its ready frame)
    sent: list[str]  # ids of the events sent
    withheld: int  # events the policy kept from the reader


class Replay:
    """One subscription's replay of a channel, from ``since`` or from now, until it goes live.

    From now (``since`` None) the replay starts at the channel's newest
    event ``last``; the position a client that receives nothing resumes from
    is not that id (the event may be hidden from it) but one made of the
    channel's Redis clock ``clock_ms``, read at the same instant: the last
    id of the millisecond before, ``<clock_ms - 1>-<2**64 - 1>``. No event
    carries it (Redis would have to number 2**64 events in one millisecond),
    so it says nothing about any event; and Redis numbers every event
    appended afterwards by its clock (and above the newest id), so at or
    after ``clock_ms-0``: resuming from the position misses none of them.
    Readable events already there in that millisecond (or later ones, if the
    clock was behind the ids) come again on a resume: they were never
    sent on this subscription, which started after them, so that is no
    duplicate either. Only a Redis clock stepped back by more than a
    millisecond while the client is away could number an event below the
    position; a client that received any event resumes from that event
    instead.

    ``trimmed`` is the oldest id the channel still keeps: a ``since`` before
    it is told of a gap.
    """

    def __init__(
        self,
        principal: Principal,
        channel: str,
        since: str | None,
        *,
        clock_ms: int = 0,
        last: str | None = None,
        trimmed: str | None = None,
    ) -> None:
        self.principal = principal
        self.since = since
        if since is None:
            start = last or "0-0"
            self.origin = f"{max(clock_ms - 1, 0)}-{MAX_SEQUENCE}"
        else:
            start = self.origin = since
        self.subscription = Subscription(channel, start)
        self.gap = since is not None and trimmed is not None and id_key(since) < id_key(trimmed)
        self.replayed = 0
        self.last_sent: str | None = None

    @property
    def cursor(self) -> str:
        """Where the next read of the store starts (after this id)."""
        return self.subscription.cursor

    def take(self, batch: Sequence[Event]) -> ReplayStep:
        """The frames to send for ``batch``, read after the cursor; the cursor passes all of it."""
        sub = self.subscription
        taken = paging.take(batch, lambda e: sub.passes(e.id, id_key(e.id)) and may_read(self.principal, e))
        frames: list[tuple[str | None, bytes]] = []
        if taken.events and self.gap:  # told right before the first event replayed: the oldest kept may be hidden
            gap = message("gap", channel=sub.channel, requested=self.since, oldest=taken.events[0].id)
            frames.append((None, text_frame(gap)))
            self.gap = False
        frames += [(event.id, text_frame(event_message(event.to_json()))) for event in taken.events]
        sent = [event.id for event in taken.events]
        self.replayed += len(sent)
        if sent:
            self.last_sent = sent[-1]
        return ReplayStep(frames, sent, len(batch) - len(sent))

    def catch_up(self, head: str) -> bool:
        """Go live if the dispatcher, at ``head``, has read no further than this replay; True once live.

        The caller reads ``head`` and calls this in one step, with no await
        in between, and adds the subscription to the dispatcher at once: no
        event can then fall between replay and live.
        """
        if id_key(head) <= self.subscription.position:
            self.subscription.live = True
        return self.subscription.live

    def finish(self) -> list[bytes]:
        """The messages that close a replay gone live: a gap with nothing kept after it (if so), then ``subscribed``."""
        channel = self.subscription.channel
        out = []
        if self.gap:  # nothing the client may read was kept after ``since``
            out.append(message("gap", channel=channel, requested=self.since, oldest=None))
        # ``position``: a client that has seen nothing yet resumes from it. Not the cursor, which may be an
        # event hidden from the client: the last event sent, else ``since`` or ``origin``. Everything between
        # it and the cursor was sent or is hidden, so resuming from it is exact.
        position = self.last_sent or self.origin
        out.append(
            message("subscribed", channel=channel, resumed_from=self.since, replayed=self.replayed, position=position)
        )
        return out


# the session -------------------------------------------------------------------------------
class Session:
    """The protocol of one stream connection, from its first message to its close.

    ``channels`` are the channels the hub has; ``subscriptions`` those this
    client holds, replaying or live (shared with the dispatcher, which moves
    their cursors).
    """

    def __init__(self, channels: Collection[str], limits: Limits) -> None:
        self.channels = channels
        self.limits = limits
        self.phase = Phase.AUTHENTICATING
        self.id = ""
        self.principal: Principal | None = None
        self.token = ""
        self.subscriptions: dict[str, Subscription] = {}

    # authentication ----------------------------------------------------------------------
    def authenticate(self, data: str | bytes | None) -> list[Action]:
        """The client's first message (None: it closed first); browsers cannot set headers on a WebSocket."""
        if data is None:
            return self.refuse("unauthorized", "the connection closed before authenticating")
        try:
            parsed = parse_client_message(data)
        except ProtocolError as exc:
            return self.refuse(exc.code, exc.message)
        if not isinstance(parsed, Auth):
            return self.refuse("unauthorized", "authenticate first: {'op': 'auth', 'token': …}")
        self.phase = Phase.CHECKING
        self.token = parsed.token
        return [CheckToken(parsed.token)]

    def auth_timed_out(self, seconds: float) -> list[Action]:
        return self.refuse("unauthorized", f"send {{'op': 'auth', 'token': …}} within {seconds:g} seconds")

    def refuse(self, code: str, text: str) -> list[Action]:
        """The client may not open a stream (``code`` says why): tell it and close."""
        self.phase = Phase.CLOSED
        return [Close(1008, "unauthorized", error_message(code, text))]

    def accept(self, principal: Principal, token: str, connection_id: str, held: int) -> list[Action]:
        """The token names ``principal``, which holds ``held`` other streams already: welcome it, or refuse."""
        decision = may_use(principal, "stream")
        if not decision:
            return self.refuse("forbidden", decision.reason)
        if held >= self.limits.connections_per_stakeholder:
            self.phase = Phase.CLOSED
            text = f"{principal.id} already holds {held} streams, the most allowed"
            return [Close(1008, "too many connections", error_message("too-many-connections", text))]
        self.phase = Phase.OPEN
        self.principal, self.token, self.id = principal, token, connection_id
        welcome = message(
            "welcome", connection=connection_id, stakeholder=principal.id, heartbeat=self.limits.heartbeat
        )
        return [Send(welcome)]

    # an open stream ----------------------------------------------------------------------
    def receive(self, text: str) -> list[Action]:
        """A text message from the client."""
        principal = self.principal
        if self.phase is not Phase.OPEN or principal is None:
            return []
        try:
            parsed = parse_client_message(text)
        except ProtocolError as exc:
            return [Send(error_message(exc.code, exc.message, exc.channel))]
        if isinstance(parsed, Subscribe):
            return [self._subscribe(principal, channel, parsed.since.get(channel)) for channel in parsed.channels]
        if isinstance(parsed, Unsubscribe):
            actions: list[Action] = []
            for channel in parsed.channels:
                sub = self.leave(channel)
                if sub is not None:
                    actions += [Drop(sub), Send(message("unsubscribed", channel=channel))]
            return actions
        if isinstance(parsed, Ping):
            return [Send(message("pong"))]
        return [Send(error_message("bad-message", "already authenticated"))]

    def receive_binary(self) -> list[Action]:
        return [Send(error_message("bad-message", "send JSON text frames"))]

    def _subscribe(self, principal: Principal, channel: str, since: str | None) -> Action:
        if channel not in self.channels:
            return Send(error_message("unknown-channel", f"no channel named {channel!r}", channel))
        decision = may_read_channel(principal, channel)
        if not decision:
            return Send(error_message("forbidden", decision.reason, channel))
        # Subscribing again replaces the previous replay: floods cost one replay per channel.
        return StartReplay(channel, since)

    def replay(
        self,
        channel: str,
        since: str | None,
        *,
        clock_ms: int = 0,
        last: str | None = None,
        trimmed: str | None = None,
    ) -> Replay:
        """Begin replaying ``channel`` (see :class:`Replay`); its subscription is now the client's."""
        assert self.principal is not None, "replays start on an open session"
        replay = Replay(self.principal, channel, since, clock_ms=clock_ms, last=last, trimmed=trimmed)
        self.subscriptions[channel] = replay.subscription
        return replay

    def leave(self, channel: str) -> Subscription | None:
        """Forget the subscription to ``channel`` (unsubscribed, or about to be replaced); it, if there was one."""
        return self.subscriptions.pop(channel, None)

    def holds(self, subscription: Subscription) -> bool:
        """Whether ``subscription`` is still this client's (not unsubscribed or replaced)."""
        return self.subscriptions.get(subscription.channel) is subscription

    def replay_failed(self, channel: str, description: str) -> list[Action]:
        return [Send(error_message("unavailable", description, channel))]

    def heartbeat(self) -> list[Action]:
        return [Send(message("heartbeat"))]

    def token_revoked(self, description: str) -> list[Action]:
        """The token no longer names the stakeholder (revoked, or it left the configuration)."""
        self.phase = Phase.CLOSED
        return [Close(1008, "token revoked", error_message("unauthorized", description))]

    def shutdown(self) -> list[Action]:
        """The hub is going away: tell the client to reconnect elsewhere (1001)."""
        self.phase = Phase.CLOSED
        return [Close(1001, "server shutting down", message("bye", reason="server shutting down"))]

    def resume_points(self) -> dict[str, str]:
        """Where the client resumes each channel from if it is cut off: the last event written to it."""
        return {s.channel: s.delivered for s in self.subscriptions.values() if s.delivered}

    def fell_behind(self) -> Close:
        """The client read too slowly and its queue filled: close, telling it where to resume."""
        self.phase = Phase.CLOSED
        text = "too far behind: reconnect and resume from your last delivered ids"
        return Close(1013, "slow consumer", error_message("slow-consumer", text, resume=self.resume_points()))
