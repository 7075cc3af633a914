"""Channels seen as TAXII collections. Pure: no aiohttp, redis or asyncio import.

Every channel is a collection. Its ``id`` is a UUIDv5 of the channel name in
a namespace of our own, so it is the same on every hub process and across
restarts without being stored; its ``alias`` is the channel name. Either may
be used in a URL, but taxii2-client accepts only the id there: it checks that
the collection resource's id appears in the URL it was given (not the one a
redirect led to), so no answer to an alias URL can satisfy it. Its users pick
a collection by alias from the API root's list, which gives them the id URL.

A collection the caller may neither read nor write does not exist for it
(:func:`hub.policy.may_see_channel`): it is absent from the list and its URLs
answer 404, exactly like an unknown one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from hub.config import Channel
from hub.errors import NotFound
from hub.policy import Principal, channel_rights, may_see_channel
from hub.taxii.media import STIX_MEDIA_TYPE

COLLECTION_NAMESPACE: Final = uuid.UUID("fda036a6-6d22-4c2f-a4fd-c2d689ce7913")


def collection_id(channel: str) -> str:
    """The collection id of a channel: stable, derived from its name."""
    return str(uuid.uuid5(COLLECTION_NAMESPACE, channel))


@dataclass(frozen=True, slots=True)
class Collection:
    """A channel and its collection id."""

    id: str
    channel: Channel

    def resource(self, principal: Principal) -> dict[str, Any]:
        """The TAXII collection resource, as ``principal`` sees it: its rights there are the policy's answer."""
        rights = channel_rights(principal, self.channel.name)
        resource: dict[str, Any] = {
            "id": self.id,
            "title": self.channel.title,
            "alias": self.channel.name,
            "can_read": rights.read,
            "can_write": rights.write,
            "media_types": [STIX_MEDIA_TYPE],
        }
        if self.channel.description:
            resource["description"] = self.channel.description
        return resource


class Catalog:
    """Every collection of the API root, found by id or by alias."""

    def __init__(self, channels: Iterable[Channel]) -> None:
        self.collections = tuple(Collection(collection_id(c.name), c) for c in channels)
        lookup: dict[str, Collection] = {c.channel.name: c for c in self.collections}
        lookup.update({c.id: c for c in self.collections})  # an id wins over a channel named like one
        self._lookup: Mapping[str, Collection] = MappingProxyType(lookup)

    def visible(self, principal: Principal) -> list[Collection]:
        """The collections ``principal`` may read or write, in configuration order."""
        return [c for c in self.collections if may_see_channel(principal, c.channel.name)]

    def find(self, key: str, principal: Principal) -> Collection:
        """The collection named ``key`` (id or alias); NotFound if unknown or invisible to ``principal``."""
        collection = self._lookup.get(key)
        if collection is None or not may_see_channel(principal, collection.channel.name):
            raise NotFound(f"no collection {key[:80]!r} on this API root")
        return collection
