"""People, their local credentials, their web sessions and sign-ins under way at an identity provider.

Every hub process on the Redis sees the same: a person disabled on one is
refused by all, a session opened on one is good on all. A session is kept
by the SHA-256 of its cookie, never the cookie itself, so that reading Redis
gives no one a way in; it expires when unused for the idle timeout (each use
renews it) and its record carries the absolute end.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import orjson

from hub.people import Person, from_record
from hub.store import scripts
from hub.store.client import Client, guard
from hub.store.layout import Keys

OIDC_LOGIN_SECONDS = 600  # how long a sign-in may stay at an identity provider before its state is forgotten


@dataclass(frozen=True, slots=True)
class Credentials:
    """A person's local credentials: an Argon2id hash, and the secret of their one-time codes ("" if none)."""

    password_hash: str
    totp_secret: str = ""


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in person's session: who, since when, until when at the latest, its anti-CSRF token."""

    person: str
    csrf: str
    created: float
    expires: float
    via: str
    """``password`` or ``oidc:<provider id>``."""


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie: str
    session: WebSession


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class PeopleStore:
    """The people admins added or disabled, their credentials and sessions (see :mod:`hub.people`)."""

    def __init__(self, client: Client, namespace: str = "chub") -> None:
        self.redis = client
        self.keys = Keys(namespace)
        self._use_step = client.register_script(scripts.USE_TOTP_STEP)

    # people ---------------------------------------------------------------------------------

    async def stored(self) -> list[Person]:
        """Everyone an admin added, and the configured people an admin disabled or enabled again."""
        async with guard():
            raw = await self.redis.hgetall(self.keys.people)
        return [from_record(orjson.loads(value)) for value in raw.values()]

    async def get(self, person_id: str) -> Person | None:
        async with guard():
            raw = await self.redis.hget(self.keys.people, person_id)
        return from_record(orjson.loads(raw)) if raw else None

    async def put(self, person: Person) -> None:
        async with guard():
            await self.redis.hset(self.keys.people, person.id, orjson.dumps(person.record()))

    # credentials -------------------------------------------------------------------------------

    async def credentials(self, person_id: str) -> Credentials | None:
        async with guard():
            raw = await self.redis.hget(self.keys.credentials, person_id)
        return Credentials(**orjson.loads(raw)) if raw else None

    async def set_credentials(self, person_id: str, credentials: Credentials) -> None:
        """Replace a person's password (and one-time-code secret); their sessions end, as after any such change."""
        async with guard():
            await self.redis.hset(
                self.keys.credentials,
                person_id,
                orjson.dumps({"password_hash": credentials.password_hash, "totp_secret": credentials.totp_secret}),
            )
            await self.redis.delete(self.keys.totp_step(person_id))
        await self.end_sessions(person_id)

    async def use_totp_step(self, person_id: str, step: int) -> bool:
        """Record that ``person_id`` used the code of ``step``; False if that step or a later one was used."""
        async with guard():
            return bool(await self._use_step(keys=[self.keys.totp_step(person_id)], args=[step]))

    async def failures(self, person_id: str) -> int:
        async with guard():
            raw = await self.redis.get(self.keys.signin_failures(person_id))
        return int(raw or 0)

    async def note_failure(self, person_id: str, window_seconds: float) -> int:
        """Count a failed sign-in; the count is forgotten ``window_seconds`` after the first of the run."""
        key = self.keys.signin_failures(person_id)
        async with guard():
            count = int(await self.redis.incr(key))
            if count == 1:
                await self.redis.expire(key, max(1, int(window_seconds)))
        return count

    async def lock(self, person_id: str, seconds: float) -> None:
        """Keep the failure count (so the account stays locked) for ``seconds`` from now."""
        async with guard():
            await self.redis.expire(self.keys.signin_failures(person_id), max(1, int(seconds)))

    async def clear_failures(self, person_id: str) -> None:
        async with guard():
            await self.redis.delete(self.keys.signin_failures(person_id))

    # sessions ----------------------------------------------------------------------------------

    async def open_session(self, person_id: str, via: str, idle_seconds: float, max_seconds: float) -> NewSession:
        """A new session, its cookie a fresh 256-bit secret (never one the browser brought: no fixation)."""
        cookie = secrets.token_urlsafe(32)
        now = time.time()
        session = WebSession(person_id, secrets.token_urlsafe(32), now, now + max_seconds, via)
        digest = _digest(cookie)
        record = orjson.dumps(
            {"person": person_id, "csrf": session.csrf, "created": now, "expires": session.expires, "via": via}
        )
        async with guard():
            await self.redis.set(self.keys.session(digest), record, ex=max(1, int(min(idle_seconds, max_seconds))))
            await self.redis.sadd(self.keys.person_sessions(person_id), digest)
            await self.redis.expire(self.keys.person_sessions(person_id), max(1, int(max_seconds)))
        return NewSession(cookie, session)

    async def session(self, cookie: str, idle_seconds: float) -> WebSession | None:
        """The live session of ``cookie``, renewed for another idle period; None if unknown, idle or over."""
        if not cookie or len(cookie) > 128:
            return None
        key = self.keys.session(_digest(cookie))
        async with guard():
            raw = await self.redis.getex(key, ex=max(1, int(idle_seconds)))
        if raw is None:
            return None
        record = orjson.loads(raw)
        session = WebSession(record["person"], record["csrf"], record["created"], record["expires"], record["via"])
        if session.expires <= time.time():
            async with guard():
                await self.redis.delete(key)
            return None
        return session

    async def end_session(self, cookie: str) -> None:
        digest = _digest(cookie)
        async with guard():
            raw = await self.redis.getdel(self.keys.session(digest))
            if raw is not None:
                await self.redis.srem(self.keys.person_sessions(orjson.loads(raw)["person"]), digest)

    async def end_sessions(self, person_id: str) -> int:
        """End every session of ``person_id`` (sign out everywhere, disabling, a new password); how many."""
        index = self.keys.person_sessions(person_id)
        async with guard():
            digests = [d.decode() if isinstance(d, bytes) else d for d in await self.redis.smembers(index)]
            ended = 0
            for digest in digests:
                ended += int(await self.redis.delete(self.keys.session(digest)))
            await self.redis.delete(index)
        return ended

    # sign-ins under way at an identity provider -------------------------------------------------

    async def save_login(self, state: str, record: dict[str, str]) -> None:
        async with guard():
            await self.redis.set(self.keys.oidc_login(state), orjson.dumps(record), ex=OIDC_LOGIN_SECONDS)

    async def take_login(self, state: str) -> dict[str, str] | None:
        """The sign-in saved under ``state``, removed as it is read: a callback can be used once."""
        if not state or len(state) > 128:
            return None
        async with guard():
            raw = await self.redis.getdel(self.keys.oidc_login(state))
        if raw is None:
            return None
        record: dict[str, str] = orjson.loads(raw)
        return record
