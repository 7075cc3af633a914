"""Local sign-in's secrets: Argon2id passwords and RFC 6238 one-time codes. No I/O.

A password is kept only as its Argon2id hash (argon2-cffi's defaults, the
RFC 9106 profile); checking one takes tens of milliseconds of CPU on
purpose, so callers run it in a thread. A one-time code is accepted once:
the store keeps the last time step used, and a code of that step or an
earlier one is refused, so a code seen over a shoulder cannot be replayed.
"""

from __future__ import annotations

import secrets
import time
from functools import cache
from typing import Final

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD: Final = 12
MAX_PASSWORD: Final = 1024  # Argon2 takes any length; a bound keeps a request from buying seconds of CPU
TOTP_DIGITS: Final = 6
TOTP_PERIOD: Final = 30
TOTP_WINDOW: Final = 1  # a code of the step before or after counts: a phone's clock may be a little off

_HASHER: Final = PasswordHasher()


@cache
def _nobody() -> str:
    """What an unknown person's password is checked against: made on first use, not at every start."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be set, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password must be at least {MIN_PASSWORD} characters long"
    if len(password) > MAX_PASSWORD:
        return f"a password must be at most {MAX_PASSWORD} characters long"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from (False for any malformed hash).

    With no hash ("": an unknown person, or one without a password) the check costs what a real one does,
    and fails: how long a refusal takes must not tell who exists.
    """
    if len(password) > MAX_PASSWORD:
        return False
    try:
        if not stored_hash:
            _HASHER.verify(_nobody(), password)
            return False
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app enrols from (shown as a QR code)."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    return totp.provisioning_uri(name=account, issuer_name=issuer)


def accepted_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step ``code`` is valid for, if it is one not used before (after ``last_step``); else None."""
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    moment = time.time() if now is None else now
    current = int(moment // TOTP_PERIOD)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if step > last_step and pyotp.utils.strings_equal(totp.at(step * TOTP_PERIOD), code):
            return step
    return None


def code_at(secret: str, moment: float) -> str:
    """The code an authenticator shows at ``moment`` (for enrolment checks and tests)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).at(moment)


def qr_svg(uri: str) -> str:
    """``uri`` as an SVG QR code, for the page."""
    return str(segno.make(uri, error="m").svg_inline(scale=4))


def qr_text(uri: str) -> str:
    """``uri`` as a QR code drawn with block characters, for a terminal."""
    qr = segno.make(uri, error="m")
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=2)]
    lines = []
    for top, bottom in zip(rows[::2], [*rows[1::2], [0] * len(rows[0])], strict=True):
        lines.append("".join(" ▄▀█"[(bool(t) << 1) | bool(b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)
