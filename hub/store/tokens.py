"""API tokens: one Redis hash from token id to a JSON record holding a digest, never the secret.

Making a token and checking one is :mod:`hub.tokens` (pure); this module only
keeps the records, for every hub process on the Redis to read — and the
command-line sign-ins waiting for a person's approval (``crisis-hub login``):
one key per user code, one per token id, both expiring.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
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
    person: str = ""
    """The person a personal token acts for (one ``crisis-hub login`` made); "" for a stakeholder's token."""
    expires: float | None = None
    """When a personal token stops working; a stakeholder's token lasts until revoked."""


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """A command line's request to sign in, waiting for a person to approve it in the situation room."""

    user_code: str
    token_id: str
    digest: str
    label: str
    address: str
    requested: float
    refused: bool = field(default=False)


class TokenStore:
    """API tokens in one Redis hash: token id → JSON record (a digest, never the secret)."""

    def __init__(self, client: Client, namespace: str = "chub") -> None:
        self.redis = client
        self.keys = Keys(namespace)
        self.key = self.keys.tokens

    async def add(self, stakeholder: str, token: NewToken, label: str = "") -> TokenRecord:
        record = TokenRecord(token.token_id, stakeholder, token.digest, time.time(), None, label)
        async with guard():
            await self.redis.hset(self.key, token.token_id, orjson.dumps(asdict(record)))
        return record

    async def add_new(self, record: TokenRecord) -> bool:
        """Store ``record`` unless a token with its id exists already (then False: ids are never reused)."""
        async with guard():
            return bool(await self.redis.hsetnx(self.key, record.token_id, orjson.dumps(asdict(record))))

    # command-line sign-ins waiting for approval ------------------------------------------------

    async def request_login(self, request: LoginRequest, seconds: int) -> bool:
        """Keep ``request`` for ``seconds``; False if its user code or token id is taken already."""
        raw = orjson.dumps(asdict(request))
        async with guard():
            if not await self.redis.set(self.keys.login_by_token(request.token_id), raw, nx=True, ex=seconds):
                return False
            if not await self.redis.set(self.keys.login_by_code(request.user_code), raw, nx=True, ex=seconds):
                await self.redis.delete(self.keys.login_by_token(request.token_id))
                return False
        return True

    async def login_request(self, user_code: str) -> LoginRequest | None:
        """The request waiting under ``user_code``, or None (none, expired, approved or refused)."""
        async with guard():
            raw = await self.redis.get(self.keys.login_by_code(user_code))
        return LoginRequest(**orjson.loads(raw)) if raw else None

    async def take_login_request(self, user_code: str) -> LoginRequest | None:
        """The request waiting under ``user_code``, removed as it is read: a code is approved (or refused) once."""
        async with guard():
            raw = await self.redis.getdel(self.keys.login_by_code(user_code))
        return LoginRequest(**orjson.loads(raw)) if raw else None

    async def login_state(self, token_id: str) -> LoginRequest | None:
        """What became of the request for ``token_id``: waiting, or refused (``refused``); None once gone."""
        async with guard():
            raw = await self.redis.get(self.keys.login_by_token(token_id))
        return LoginRequest(**orjson.loads(raw)) if raw else None

    async def settle_login(self, request: LoginRequest, refused: bool) -> None:
        """An approved request is forgotten; a refused one is remembered (until it expires) for its poller."""
        key = self.keys.login_by_token(request.token_id)
        async with guard():
            if refused:
                await self.redis.set(key, orjson.dumps(asdict(request) | {"refused": True}), xx=True, keepttl=True)
            else:
                await self.redis.delete(key)

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
