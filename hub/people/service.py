"""The hub's people at run time: who they are (config and store together), their rights, their sign-ins.

Local sign-in is a password, plus a one-time code for anyone who may read RED
or administer (:func:`hub.policy.needs_second_factor`). After
``lockout_failures`` failures in a row the person is locked out for
``lockout_minutes``, a right password included; the web layer also throttles
by address. Every refusal says the same "wrong person, password or code" so
that it tells nothing of which part was wrong, except a lockout, which the
person must know of to wait it out.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from hub import credentials
from hub.config import Config
from hub.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from hub.people import PERSON_ID, Person, find_by_claim, merge
from hub.policy import Principal, may_sign_in, needs_second_factor
from hub.store.people import Credentials, NewSession, PeopleStore, WebSession
from hub.tlp import TLP

WRONG: str = "wrong person, password or one-time code"


class People:
    """Everyone who may sign in to this hub: the config's ``[people]`` and those admins added."""

    def __init__(self, config: Config, store: PeopleStore) -> None:
        self.config = config
        self.store = store

    # who -------------------------------------------------------------------------------------

    async def all(self) -> dict[str, Person]:
        return merge(self.config.people.values(), await self.store.stored())

    async def get(self, person_id: str) -> Person | None:
        configured = self.config.people.get(person_id)
        stored = await self.store.get(person_id)
        return merge([configured] if configured else [], [stored] if stored else []).get(person_id)

    async def require(self, person_id: str) -> Person:
        person = await self.get(person_id)
        if person is None:
            raise NotFound(f"no person with id {person_id[:64]!r}")
        return person

    def stakeholder_name(self, person: Person) -> str:
        holder = self.config.stakeholders.get(person.stakeholder)
        return holder.name if holder is not None else person.stakeholder

    def label(self, person: Person) -> str:
        """``María López (Central Bank)``: how the hub names a person to others."""
        return f"{person.name} ({self.stakeholder_name(person)})"

    def rights(self, person: Person) -> Principal:
        """What ``person`` may do now; Unauthorized if they may not sign in (disabled, stakeholder gone)."""
        stakeholder = self.config.principals.get(person.stakeholder)
        decision = may_sign_in(person.disabled, stakeholder, person.id)
        if not decision or stakeholder is None:
            raise Unauthorized(decision.reason)
        return person.rights(stakeholder)

    async def by_claim(self, stakeholder: str, claim: str, value: str) -> Person | None:
        return find_by_claim((await self.all()).values(), stakeholder, claim, value)

    # admins ----------------------------------------------------------------------------------

    async def add(self, person: Person) -> Person:
        """Add a person (an admin's act): a new id, a configured stakeholder, rights no wider than its."""
        if not PERSON_ID.match(person.id):
            raise BadRequest("a person's id is 1 to 63 lower-case letters, digits, '.', '_' or '-'")
        if not person.name.strip():
            raise BadRequest("a person needs a name")
        stakeholder = self.config.principals.get(person.stakeholder)
        if stakeholder is None:
            raise BadRequest(f"no stakeholder named {person.stakeholder[:64]!r}")
        if person.admin and not stakeholder.admin:
            raise BadRequest(f"{stakeholder.id} does not administer; a person's rights are never wider than theirs")
        if await self.get(person.id) is not None:
            raise BadRequest(f"a person with id {person.id!r} exists already")
        added = replace(person, origin="admin", disabled=False)
        await self.store.put(added)
        return added

    async def set_disabled(self, person_id: str, disabled: bool) -> Person:
        """Disable (every session ends at once, open streams within their recheck) or enable a person."""
        person = replace(await self.require(person_id), disabled=disabled)
        await self.store.put(person)
        if disabled:
            await self.store.end_sessions(person_id)
        return person

    async def set_language(self, person_id: str, language: str | None) -> Person:
        """Remember the language a person chose (None: the hub's, or their browser's)."""
        person = replace(await self.require(person_id), language=language)
        await self.store.put(person)
        return person

    async def set_password(self, person_id: str, password: str, *, with_code: bool | None = None) -> Credentials:
        """Set a person's local password; a new one-time-code secret when they need one (or ``with_code``)."""
        person = await self.require(person_id)
        problem = credentials.password_problem(password)
        if problem is not None:
            raise BadRequest(problem)
        needs_code = needs_second_factor(self.rights(person)) if with_code is None else with_code
        secret = credentials.new_totp_secret() if needs_code else ""
        hashed = await asyncio.to_thread(credentials.hash_password, password)
        record = Credentials(hashed, secret)
        await self.store.set_credentials(person_id, record)
        return record

    # signing in ------------------------------------------------------------------------------

    async def check_password(self, person_id: str, password: str, code: str) -> Person:
        """The person whose password (and code, if they need one) this is; Unauthorized or TooManyRequests."""
        settings = self.config.sign_in
        person = await self.get(person_id) if PERSON_ID.match(person_id) else None
        if person is None:
            # As long to refuse as a wrong password: the answer's time must not tell who exists.
            await asyncio.to_thread(credentials.password_matches, "", password)
            raise Unauthorized(WRONG)
        if await self.store.failures(person.id) >= settings.lockout_failures:
            raise TooManyRequests(
                f"too many failed sign-ins for {person.id}; the account is locked for "
                f"{settings.lockout_minutes:g} minutes",
                settings.lockout_minutes * 60,
            )
        stored = await self.store.credentials(person.id)
        right = await asyncio.to_thread(credentials.password_matches, stored.password_hash if stored else "", password)
        if right and stored is not None:
            rights = self.rights(person)  # a disabled person is refused here, whatever they typed
            if stored.totp_secret:
                step = credentials.accepted_step(stored.totp_secret, code, -1)
                right = step is not None and await self.store.use_totp_step(person.id, step)
            elif needs_second_factor(rights):
                raise Forbidden(
                    f"{person.id} may read {TLP.RED.label} or administer and has no one-time-code app enrolled; "
                    "an administrator must set their password again (crisis-hub person set-password)"
                )
        if not right:
            failures = await self.store.note_failure(person.id, settings.lockout_minutes * 60)
            if failures >= settings.lockout_failures:
                await self.store.lock(person.id, settings.lockout_minutes * 60)
            raise Unauthorized(WRONG)
        await self.store.clear_failures(person.id)
        return person

    async def open_session(self, person: Person, via: str) -> NewSession:
        settings = self.config.sign_in
        return await self.store.open_session(
            person.id, via, settings.session_idle_minutes * 60, settings.session_max_hours * 3600
        )

    async def session(self, cookie: str) -> tuple[WebSession, Person, Principal] | None:
        """The live session of ``cookie``, its person and their rights now; None if there is none.

        Unauthorized when the session is live but its person may no longer sign in.
        """
        session = await self.store.session(cookie, self.config.sign_in.session_idle_minutes * 60)
        if session is None:
            return None
        person = await self.get(session.person)
        if person is None:
            raise Unauthorized("this session's person no longer exists; sign in again")
        return session, person, self.rights(person)
