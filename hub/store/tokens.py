"""API tokens: one Redis hash from token id to a JSON record holding a digest, never the secret.

Making a token and checking one is :mod:`hub.tokens` (pure); this module only
keeps the records, for every hub process on the Redis to read.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from dataclasses import replace as dataclasses_replace

import orjson

from hub.errors import NotFound
from hub.store.client import Client, guard
from hub.store.layout import Keys
from hub.tokens import NewToken


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token_id: str
    stakeholder: str
    digest: str
    created: float
    revoked: float | None = None
    label: str = ""


class TokenStore:
    """API tokens in one Redis hash: token id → JSON record (a digest, never the secret)."""

    def __init__(self, client: Client, namespace: str = "chub") -> None:
        self.redis = client
        self.key = Keys(namespace).tokens

    async def add(self, stakeholder: str, token: NewToken, label: str = "") -> TokenRecord:
        record = TokenRecord(token.token_id, stakeholder, token.digest, time.time(), None, label)
        async with guard():
            await self.redis.hset(self.key, token.token_id, orjson.dumps(asdict(record)))
        return record

    async def get(self, token_id: str) -> TokenRecord | None:
        async with guard():
            raw = await self.redis.hget(self.key, token_id)
        return TokenRecord(**orjson.loads(raw)) if raw else None

    async def list(self) -> list[TokenRecord]:
        async with guard():
            raw = await self.redis.hgetall(self.key)
        return sorted((TokenRecord(**orjson.loads(v)) for v in raw.values()), key=lambda r: r.created)

    async def revoke(self, token_id: str) -> TokenRecord:
        record = await self.get(token_id)
        if record is None:
            raise NotFound(f"no token with id {token_id}")
        if record.revoked is None:
            record = dataclasses_replace(record, revoked=time.time())
            async with guard():
                await self.redis.hset(self.key, token_id, orjson.dumps(asdict(record)))
        return record
