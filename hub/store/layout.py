"""Where everything lives in Redis: the name of every key of the hub, in one place.

Every key starts with the hub's namespace ``<ns>`` (``hub.redis_namespace``),
so that several hubs can share one Redis. Each channel has, under one hash tag
(so that a Redis Cluster keeps a channel on one shard, where one script may
touch all of its keys):

* ``<ns>:{ch:<channel>}:log`` — a Redis Stream, the durable ordered log. An
  entry's id is the event id; its fields are ``src tlp z``, the object
  compressed with its id and version (:mod:`hub.store.entries`).
* ``<ns>:{ch:<channel>}:objects`` — the channel's index of objects: a hash from
  STIX id to its stored versions, ``"<event id> <version>"`` each, joined by
  commas: the idempotency index, the version history of the object in that
  channel, and (ranked by :func:`hub.versions.newest_id`) its newest version.
  One field per object, not a key per object: a key costs Redis about as much
  again as the field.
* ``<ns>:{ch:<channel>}:t:<type>`` — the STIX ids of that type in the channel,
  for the few types the hub looks up by type (``hub.store.events.INDEXED_TYPES``).
* ``<ns>:{ch:<channel>}:r:<stix id>`` — the STIX ids of the objects that refer to
  it (``object_refs``, ``sighting_of_ref``, ``source_ref``…: see :func:`hub.refs.refs_of`).
* ``<ns>:{ch:<channel>}:trimmed`` — the id of the newest event retention removed.
* ``<ns>:{ch:<channel>}:live`` — the pub/sub channel announcing appends.
* ``<ns>:{ch:<channel>}:sync`` — a counter, written by an append that added
  nothing when appends wait for replicas (see :mod:`hub.store.replication`).
* ``<ns>:{ch:<channel>}:format`` — the channel's layout version, set once the
  channel is in the layout above (:mod:`hub.store.upgrade`). Hubs before it
  kept a hash per object (``v:<stix id>``: version → event id), a ``latest``
  hash, a type index of every type, and entries with ``typ sid ver obj``,
  the object as plain JSON (still read as they are).

The append script builds the ``t:``, ``r:`` and ``sync`` names itself
from the channel's prefix: :meth:`Keys.channel_prefix` and those scripts
change together. And for the whole hub:

* ``<ns>:owners`` — STIX id (lower case) → the stakeholder that owns it;
  ``<ns>:owners:recorded`` — set once the owners of older objects are recorded.
* ``<ns>:tokens`` — token id → JSON token record (a digest, never the secret);
  ``<ns>:login:code:<user code>`` and ``<ns>:login:token:<token id>`` — a
  command-line sign-in waiting for a person's approval, expiring.
* ``<ns>:secret:<name>`` — random secrets shared by every process of the hub.
* ``<ns>:audit`` — the audit trail, a stream; ``{<ns>:audit}:head`` — its head
  (the stream's name in a hash tag: one cluster shard for both).
* ``<ns>:connector:<name>`` — a connector's checkpoint;
  ``{<ns>:connector:<name>}:lease`` — who runs it; ``<ns>:connectors`` — a
  hash of every connector's status.
* ``<ns>:plans:lease`` — which hub process runs the crisis plans now.
* ``<ns>:taxii:status:<id>`` — a TAXII status resource, kept a few days.
* ``<ns>:people`` — person id → JSON record of a person an admin added (or a
  configured one an admin disabled); ``<ns>:credentials`` — person id → JSON
  of their local password's hash and one-time-code secret;
  ``<ns>:totp:<person>`` — the last one-time-code step they used;
  ``<ns>:signin:failures:<person>`` — failed sign-ins in a row, expiring.
* ``<ns>:session:<digest>`` — a web session, by the SHA-256 of its cookie,
  expiring when idle; ``<ns>:sessions:<person>`` — the digests of a person's sessions.
* ``<ns>:oidc:<state>`` — a sign-in under way at an identity provider, taken once.
* ``{<ns>:notify}:items`` — notification id → JSON record (what, for whom, its state);
  ``{<ns>:notify}:due`` — the ids waiting to be sent, by when; ``{<ns>:notify}:log``
  — every kept id by when it was made; ``{<ns>:notify}:cursors`` — per channel, the
  last event the notifier read; ``{<ns>:notify}:last:<recipient>`` — when it was last
  sent something (its digest window); ``<ns>:notify:lease`` — which process notifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

FORMAT: Final = b"2"
"""The value of a channel's ``format`` key once it is in the layout above."""


@dataclass(frozen=True, slots=True)
class Keys:
    """The key names of the hub whose namespace is ``ns``."""

    ns: str = "chub"

    # one channel -------------------------------------------------------------------------
    def channel_prefix(self, channel: str) -> str:
        """The start of every key of ``channel``; its hash tag keeps them on one cluster shard."""
        return f"{self.ns}:{{ch:{channel}}}:"

    def log(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}log"

    def objects(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}objects"

    def format(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}format"

    def legacy_versions(self, channel: str, stix_id: str) -> str:
        """An object's version hash, as hubs before the channel index kept them (read once, by the upgrade)."""
        return f"{self.channel_prefix(channel)}v:{stix_id}"

    def legacy_latest(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}latest"

    def trimmed(self, channel: str) -> str:
        return f"{self.channel_prefix(channel)}trimmed"

    def of_type(self, channel: str, stix_type: str) -> str:
        return f"{self.channel_prefix(channel)}t:{stix_type}"

    def referrers(self, channel: str, stix_id: str) -> str:
        return f"{self.channel_prefix(channel)}r:{stix_id}"

    def live(self, channel: str) -> str:
        """The pub/sub channel of ``channel``'s appends (``*``: a pattern matching every channel's)."""
        return f"{self.channel_prefix(channel)}live"

    # the whole hub -----------------------------------------------------------------------
    @property
    def owners(self) -> str:
        return f"{self.ns}:owners"

    @property
    def owners_recorded(self) -> str:
        return f"{self.owners}:recorded"

    @property
    def tokens(self) -> str:
        return f"{self.ns}:tokens"

    def login_by_code(self, user_code: str) -> str:
        return f"{self.ns}:login:code:{user_code}"

    def login_by_token(self, token_id: str) -> str:
        return f"{self.ns}:login:token:{token_id}"

    def secret(self, name: str) -> str:
        return f"{self.ns}:secret:{name}"

    @property
    def audit(self) -> str:
        return f"{self.ns}:audit"

    @property
    def audit_head(self) -> str:
        return f"{{{self.audit}}}:head"

    def checkpoint(self, connector: str) -> str:
        return f"{self.ns}:connector:{connector}"

    def lease(self, connector: str) -> str:
        return f"{{{self.checkpoint(connector)}}}:lease"

    @property
    def plans_lease(self) -> str:
        """Who runs the crisis plans now (:mod:`hub.plans.service`)."""
        return f"{self.ns}:plans:lease"

    @property
    def connector_statuses(self) -> str:
        return f"{self.ns}:connectors"

    def taxii_status(self, status_id: str) -> str:
        return f"{self.ns}:taxii:status:{status_id}"

    @property
    def people(self) -> str:
        return f"{self.ns}:people"

    @property
    def credentials(self) -> str:
        return f"{self.ns}:credentials"

    def totp_step(self, person: str) -> str:
        return f"{self.ns}:totp:{person}"

    def signin_failures(self, person: str) -> str:
        return f"{self.ns}:signin:failures:{person}"

    def session(self, digest: str) -> str:
        return f"{self.ns}:session:{digest}"

    def person_sessions(self, person: str) -> str:
        return f"{self.ns}:sessions:{person}"

    def oidc_login(self, state: str) -> str:
        return f"{self.ns}:oidc:{state}"

    def notify(self, part: str) -> str:
        """The notifications' keys (``items``, ``due``, ``log``, ``cursors``, ``last:<recipient>``): one hash tag."""
        return f"{{{self.ns}:notify}}:{part}"

    @property
    def notify_lease(self) -> str:
        return f"{self.ns}:notify:lease"

    @property
    def load(self) -> str:
        """Each hub process's pressure (:mod:`hub.store.load`)."""
        return f"{self.ns}:load"
