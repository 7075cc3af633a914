"""API tokens: how they look, and how they are checked. Pure: no I/O.

A token is ``chub_<id>_<secret>``. The id (12 hex characters) names the token
in listings and revocations; the secret (256 random bits) is shown once, when
the token is created, and only its SHA-256 digest is stored. A secret that
random needs no slow password hash: the digest cannot be reversed, and
comparing digests in constant time leaks nothing useful.

A person signs the command line in (``crisis-hub login``) with a token the
command makes itself: it sends the hub only the token's id and digest, and a
*user code* names that request to the person, who approves it in the
situation room. The user code is eight letters of an alphabet without vowels
or look-alikes (RFC 8628's advice: no words, nothing to misread), shown as
``BCDF-GHJK``: 20⁸ codes, guessed only by someone the address throttle lets
try millions of times.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_TOKEN = re.compile(r"\Achub_([0-9a-f]{12})_([A-Za-z0-9_-]{43})\Z")
TOKEN_ID = re.compile(r"\A[0-9a-f]{12}\Z")
DIGEST = re.compile(r"\A[0-9a-f]{64}\Z")
USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"
_USER_CODE = re.compile(rf"\A[{USER_CODE_LETTERS}]{{8}}\Z")


@dataclass(frozen=True, slots=True)
class NewToken:
    token_id: str
    secret: str

    @property
    def text(self) -> str:
        return f"chub_{self.token_id}_{self.secret}"

    @property
    def digest(self) -> str:
        return digest(self.secret)


def new_token() -> NewToken:
    return NewToken(secrets.token_hex(6), secrets.token_urlsafe(32))


def split_token(text: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token, else None."""
    match = _TOKEN.match(text.strip())
    return (match.group(1), match.group(2)) if match else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return hmac.compare_digest(digest(secret), stored_digest)


def new_user_code() -> str:
    """A fresh user code, ``BCDF-GHJK``."""
    letters = "".join(secrets.choice(USER_CODE_LETTERS) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def user_code(text: str) -> str | None:
    """The user code a person typed (any case, with or without the dash or spaces), as ``BCDF-GHJK``; else None."""
    letters = "".join(text.split()).replace("-", "").upper()
    if len(text) > 32 or not _USER_CODE.match(letters):
        return None
    return f"{letters[:4]}-{letters[4:]}"
