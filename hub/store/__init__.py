"""The store: everything the hub keeps in Redis, and the only code that speaks to it.

Where each thing lives (one module each, named by what it holds):

* :mod:`hub.store.client` — :func:`connect`, and :func:`guard`, the one error
  guard every Redis call goes through: callers see
  :class:`hub.errors.StoreUnavailable` and friends, never redis-py's exceptions;
* :mod:`hub.store.layout` — the name of every key;
* :mod:`hub.store.scripts` — every Lua script;
* :mod:`hub.store.events` — :class:`Store`: channels, objects, their versions
  and owners, retention;
* :mod:`hub.store.entries` — a channel's stream entry: the object compressed
  with a dictionary of :mod:`hub.store.dictionary`;
* :mod:`hub.store.upgrade` — a store an older hub wrote, brought to the
  current layout at start-up;
* :mod:`hub.store.notifications` — the live notifications of appends (pub/sub);
* :mod:`hub.store.replication` — appends that wait for replicas;
* :mod:`hub.store.tokens` — API tokens;
* :mod:`hub.store.status` — TAXII status resources;
* :mod:`hub.store.capacity` — how full Redis is, and whether it would evict;
* :mod:`hub.store.audit` — the hash-chained audit trail;
* :mod:`hub.store.lease` — which of several hub processes does a job now;
* :mod:`hub.store.load` — how far behind each hub process's live streams are;
* :mod:`hub.store.connectors` — connectors' checkpoints, leases and statuses.

What code outside the store imports is re-exported here.
"""

from __future__ import annotations

from hub.store.audit import AuditLog
from hub.store.client import Client, CredentialsRefused, StoreError, connect, guard, is_cluster, unavailable
from hub.store.events import Appended, Store
from hub.store.lease import Lease
from hub.store.notifications import Note, Subscription
from hub.store.tokens import TokenRecord, TokenStore

__all__ = [
    "Appended",
    "AuditLog",
    "Client",
    "CredentialsRefused",
    "Lease",
    "Note",
    "Store",
    "StoreError",
    "Subscription",
    "TokenRecord",
    "TokenStore",
    "connect",
    "guard",
    "is_cluster",
    "unavailable",
]
