"""The stream session and a subscription's replay as pure state machines: no loop, no sockets, no Redis."""

from __future__ import annotations

import orjson
import pytest

from hub.events import Event, id_key, parse_event_id
from hub.policy import Principal
from hub.stream.session import (
    CheckToken,
    Close,
    Drop,
    Limits,
    Phase,
    Replay,
    Send,
    Session,
    StartReplay,
    Subscription,
)
from hub.tlp import TLP
from tests.schemas import conforms

CHANNELS = ("committee", "public", "sector.energy")


def principal(
    name: str = "cert", read: dict[str, TLP] | None = None, access: frozenset[str] | None = None
) -> Principal:
    rights = read if read is not None else {"committee": TLP.AMBER, "public": TLP.CLEAR}
    if access is None:
        return Principal(name, name, None, (), rights, frozenset())
    return Principal(name, name, None, (), rights, frozenset(), access=access)


def event(seq: int, tlp: TLP = TLP.GREEN, channel: str = "committee") -> Event:
    return Event(f"1000-{seq}", channel, "cert", tlp, "note", f"note--{seq}", "", b'{"type":"note"}')


def decoded(data: bytes) -> dict[str, object]:
    """A server message, checked against the published schema."""
    message: dict[str, object] = conforms("stream-server", orjson.loads(data))
    return message


def frame_payload(frame: bytes) -> dict[str, object]:
    """The message in one unmasked text frame of under 126 bytes."""
    assert frame[0] == 0x81 and frame[1] < 126
    return decoded(frame[2:])


def opened(who: Principal | None = None, limit: int = 3) -> Session:
    session = Session(CHANNELS, Limits(connections_per_stakeholder=limit, heartbeat=30.0))
    session.accept(who or principal(), "token", "1f-1", held=0)
    return session


# authentication -----------------------------------------------------------------------
def test_an_auth_message_asks_for_the_token_to_be_checked() -> None:
    session = Session(CHANNELS, Limits(3, 30.0))
    assert session.authenticate('{"op": "auth", "token": "t0"}') == [CheckToken("t0")]
    assert session.phase is Phase.CHECKING and session.token == "t0"


@pytest.mark.parametrize(
    "first, code, fragment",
    [
        ('{"op": "ping"}', "unauthorized", "authenticate first"),
        ("{nope", "bad-message", "JSON"),
        (None, "unauthorized", "closed before authenticating"),
    ],
)
def test_anything_but_an_auth_message_first_is_refused_and_closed(first: str | None, code: str, fragment: str) -> None:
    session = Session(CHANNELS, Limits(3, 30.0))
    [close] = session.authenticate(first)
    assert isinstance(close, Close) and close.code == 1008 and close.message is not None
    error = decoded(close.message)
    assert error["code"] == code and fragment in str(error["message"])
    assert session.phase is Phase.CLOSED


def test_no_auth_in_time_is_refused_naming_the_deadline() -> None:
    [close] = Session(CHANNELS, Limits(3, 30.0)).auth_timed_out(0.5)
    assert isinstance(close, Close) and close.message is not None and "0.5 seconds" in str(decoded(close.message))


def test_an_accepted_principal_is_welcomed_with_its_connection_id_and_heartbeat() -> None:
    session = Session(CHANNELS, Limits(3, 12.5))
    [welcome] = session.accept(principal("cert"), "token", "1f-7", held=2)
    assert isinstance(welcome, Send)
    assert decoded(welcome.data) == {"op": "welcome", "connection": "1f-7", "stakeholder": "cert", "heartbeat": 12.5}
    assert session.phase is Phase.OPEN and session.id == "1f-7"


def test_a_stakeholder_at_its_connection_limit_is_refused() -> None:
    session = Session(CHANNELS, Limits(2, 30.0))
    [close] = session.accept(principal("cert"), "token", "1f-7", held=2)
    assert isinstance(close, Close) and close.reason == "too many connections" and close.message is not None
    assert decoded(close.message)["code"] == "too-many-connections"
    assert session.phase is Phase.CLOSED


def test_a_principal_without_the_stream_interface_is_forbidden() -> None:
    session = Session(CHANNELS, Limits(3, 30.0))
    [close] = session.accept(principal(access=frozenset({"taxii"})), "token", "1f-7", held=0)
    assert isinstance(close, Close) and close.message is not None and decoded(close.message)["code"] == "forbidden"


def test_nothing_is_answered_before_the_session_is_open() -> None:
    assert Session(CHANNELS, Limits(3, 30.0)).receive('{"op": "ping"}') == []


# an open session ------------------------------------------------------------------------
def test_ping_is_answered_with_pong() -> None:
    [pong] = opened().receive('{"op": "ping"}')
    assert isinstance(pong, Send) and decoded(pong.data) == {"op": "pong"}


def test_subscribing_starts_a_replay_per_readable_channel_and_refuses_the_others_by_name() -> None:
    text = '{"op": "subscribe", "channels": ["committee", "sector.energy", "nowhere"], "since": {"committee": "5-0"}}'
    start, forbidden, unknown = opened().receive(text)
    assert start == StartReplay("committee", "5-0")
    assert isinstance(forbidden, Send) and isinstance(unknown, Send)
    assert decoded(forbidden.data)["code"] == "forbidden" and decoded(forbidden.data)["channel"] == "sector.energy"
    assert decoded(unknown.data)["code"] == "unknown-channel" and decoded(unknown.data)["channel"] == "nowhere"


def test_unsubscribing_drops_a_held_subscription_and_says_so_and_ignores_others() -> None:
    session = opened()
    replay = session.replay("committee", "0-0")
    drop, said = session.receive('{"op": "unsubscribe", "channels": ["committee", "public"]}')
    assert drop == Drop(replay.subscription) and not session.holds(replay.subscription)
    assert isinstance(said, Send) and decoded(said.data) == {"op": "unsubscribed", "channel": "committee"}


def test_a_new_replay_replaces_the_subscription_of_its_channel() -> None:
    session = opened()
    first = session.replay("committee", "0-0").subscription
    second = session.replay("committee", "3-0").subscription
    assert not session.holds(first) and session.holds(second) and session.subscriptions == {"committee": second}


@pytest.mark.parametrize(
    "text, code",
    [
        ('{"op": "auth", "token": "again"}', "bad-message"),
        ('{"op": "dance"}', "bad-message"),
        ('{"op": "subscribe", "channels": ["a"], "since": {"a": "latest"}}', "bad-message"),
    ],
)
def test_bad_messages_get_a_coded_error_and_the_session_stays_open(text: str, code: str) -> None:
    session = opened()
    [error] = session.receive(text)
    assert isinstance(error, Send) and decoded(error.data)["code"] == code
    assert session.phase is Phase.OPEN


def test_binary_messages_are_refused() -> None:
    [error] = opened().receive_binary()
    assert isinstance(error, Send) and "text" in str(decoded(error.data)["message"])


def test_a_revoked_token_and_a_shutdown_close_with_their_codes() -> None:
    [revoked] = opened().token_revoked("token revoked")
    assert isinstance(revoked, Close) and revoked.code == 1008 and revoked.message is not None
    assert decoded(revoked.message)["code"] == "unauthorized"
    [bye] = opened().shutdown()
    assert isinstance(bye, Close) and bye.code == 1001 and bye.message is not None
    assert decoded(bye.message)["op"] == "bye"


def test_a_slow_consumer_is_told_to_resume_from_what_it_was_delivered_only() -> None:
    session = opened()
    session.replay("committee", "0-0").subscription.delivered = "1000-4"
    session.replay("public", "0-0")  # nothing delivered: no resume point to give
    close = session.fell_behind()
    assert close.code == 1013 and close.message is not None
    assert decoded(close.message)["resume"] == {"committee": "1000-4"}


def test_heartbeats_are_messages() -> None:
    [beat] = opened().heartbeat()
    assert isinstance(beat, Send) and decoded(beat.data) == {"op": "heartbeat"}


# a subscription's replay -------------------------------------------------------------------
def test_a_subscription_drops_what_its_cursor_has_passed() -> None:
    sub = Subscription("committee", "1000-2")
    assert not sub.passes("1000-2", (1000, 2)) and not sub.passes("999-9", (999, 9))
    assert sub.passes("1000-3", (1000, 3)) and sub.cursor == "1000-3"


def test_a_replay_sends_what_the_reader_may_read_and_passes_the_rest() -> None:
    replay = Replay(principal(), "committee", "0-0")
    step = replay.take([event(1), event(2, TLP.RED), event(3)])
    assert step.sent == ["1000-1", "1000-3"] and step.withheld == 1
    assert [event_id for event_id, _ in step.frames] == ["1000-1", "1000-3"]
    assert replay.cursor == "1000-3"
    assert replay.take([event(3)]).sent == []  # read again: already passed


def test_a_replay_goes_live_only_once_the_dispatcher_has_read_no_further() -> None:
    replay = Replay(principal(), "committee", "0-0")
    replay.take([event(1), event(2)])
    assert not replay.catch_up("1000-3") and not replay.subscription.live
    assert replay.catch_up("1000-2") and replay.subscription.live


def test_subscribed_names_the_last_event_sent_not_a_hidden_one() -> None:
    replay = Replay(principal(), "committee", "1000-0")
    replay.take([event(1), event(2, TLP.RED)])
    replay.catch_up("1000-2")
    [subscribed] = replay.finish()
    assert decoded(subscribed) == {
        "op": "subscribed",
        "channel": "committee",
        "resumed_from": "1000-0",
        "replayed": 1,
        "position": "1000-1",
    }


def test_a_replay_from_now_starts_after_the_newest_event_and_gives_a_position_of_the_clock_alone() -> None:
    replay = Replay(principal(), "committee", None, clock_ms=2000, last="1999-4")
    assert replay.cursor == "1999-4"
    replay.catch_up("1999-4")
    [subscribed] = replay.finish()
    message = decoded(subscribed)
    assert message["position"] == f"1999-{2**64 - 1}" and message["resumed_from"] is None and message["replayed"] == 0
    assert parse_event_id(message["position"]) == message["position"]


def test_a_position_from_now_is_not_an_event_of_the_millisecond_before_the_clock() -> None:
    """The newest event was appended in the millisecond before the clock was read: the position is not its id."""
    replay = Replay(principal(), "committee", None, clock_ms=2000, last="1999-0")
    replay.catch_up("1999-0")
    [subscribed] = replay.finish()
    position = decoded(subscribed)["position"]
    assert position != "1999-0"
    assert id_key("1999-0") < id_key(str(position)) < id_key("2000-0")


def test_a_since_before_the_kept_history_is_told_of_the_gap_at_the_first_readable_event() -> None:
    replay = Replay(principal(), "committee", "1000-0", trimmed="1000-5")
    step = replay.take([event(5, TLP.RED), event(6)])
    (none, gap), (event_id, _) = step.frames
    assert none is None and event_id == "1000-6"
    assert frame_payload(gap) == {"op": "gap", "channel": "committee", "requested": "1000-0", "oldest": "1000-6"}
    replay.catch_up("1000-6")
    assert [decoded(m)["op"] for m in replay.finish()] == ["subscribed"]


def test_a_gap_with_nothing_readable_kept_is_told_when_the_replay_goes_live() -> None:
    replay = Replay(principal(), "committee", "1000-0", trimmed="1000-5")
    assert replay.take([event(5, TLP.RED)]).frames == []
    replay.catch_up("1000-5")
    gap, subscribed = replay.finish()
    assert decoded(gap) == {"op": "gap", "channel": "committee", "requested": "1000-0", "oldest": None}
    assert decoded(subscribed)["position"] == "1000-0"


def test_a_since_within_the_kept_history_is_no_gap() -> None:
    replay = Replay(principal(), "committee", "1000-5", trimmed="1000-5")
    assert [event_id for event_id, _ in replay.take([event(6)]).frames] == ["1000-6"]
