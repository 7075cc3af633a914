"""``crisis-hub login`` and ``logout``: the command line signed in as a person, and the token it keeps.

``login`` makes a token on this machine, asks the hub to let a person approve
it (see :mod:`hub.people.cli_login`), prints the situation room's link and
code, and waits. Once the person approves, the token acts for them — their
stakeholder's, with their rights — and is saved, per hub URL, in
``$XDG_CONFIG_HOME/crisis-hub/tokens.json`` (``~/.config`` by default, or the
file ``CRISIS_HUB_TOKENS`` names), readable by its owner only. Every command
that talks to a hub takes ``--token``, else ``CRISIS_HUB_TOKEN``, else the
token saved for its ``--url``. ``logout`` revokes the token at the hub and
forgets it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from hub.cli.errors import CliError
from hub.cli.options import TOKENS_FILE
from hub.i18n import Translator
from hub.tokens import new_token


def tokens_file() -> Path:
    """Where ``login`` saves tokens: ``CRISIS_HUB_TOKENS``, else ``$XDG_CONFIG_HOME/crisis-hub/tokens.json``."""
    named = os.environ.get(TOKENS_FILE)
    if named:
        return Path(named)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "crisis-hub" / "tokens.json"


def _hub_key(url: str) -> str:
    return url.rstrip("/")


def _saved(tr: Translator) -> dict[str, dict[str, Any]]:
    path = tokens_file()
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CliError(
            tr("cannot read the saved tokens in {path} ({error}); remove the file and sign in again", path=path,
               error=exc)
        ) from None  # fmt: skip
    hubs = data.get("hubs") if isinstance(data, dict) else None
    return {k: v for k, v in hubs.items() if isinstance(v, dict)} if isinstance(hubs, dict) else {}


def _write(hubs: dict[str, dict[str, Any]]) -> Path:
    """Replace the saved tokens, atomically, in a file only its owner may read."""
    path = tokens_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(orjson.dumps({"hubs": hubs}, option=orjson.OPT_INDENT_2))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return path


def saved_token(url: str, tr: Translator) -> str:
    """The token ``login`` saved for the hub at ``url``, or ""."""
    token = _saved(tr).get(_hub_key(url), {}).get("token", "")
    return token if isinstance(token, str) else ""


def need_token(args: argparse.Namespace) -> None:
    """Give ``args.token`` the token saved for ``args.url`` when none was given; a usage error if there is none."""
    tr: Translator = args.tr
    if not args.token:
        args.token = saved_token(args.url, tr)
    if not args.token:
        raise CliError(
            tr(
                "give --token or set CRISIS_HUB_TOKEN, or sign in as yourself with crisis-hub login "
                "(crisis-hub token create prints a stakeholder's token)"
            ),
            2,
        )


def _default_label() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"  # a label, stored and shown to others: not a sentence of this command
    return f"{user}@{socket.gethostname()}"[:100]


def cmd_login(args: argparse.Namespace) -> int:
    """Sign this command line in as the person who approves it in the situation room."""
    from connectors.client import HubClient, HubClientError

    tr: Translator = args.tr
    token = new_token()
    label = args.label if args.label is not None else _default_label()

    async def run() -> dict[str, Any]:
        async with HubClient(args.url) as anonymous:
            asked = await anonymous.call(
                "POST", "/api/v1/cli-login", {"token_id": token.token_id, "digest": token.digest, "label": label}
            )
        minutes = round(asked["expires_in"] / 60)
        print(
            tr.plural(
                "To sign this command line in, open\n\n    {link}\n\nin a browser signed in to the situation room, "
                "check that it shows the code {code}, and approve it (within {n} minute).\nWaiting for your approval…",
                "To sign this command line in, open\n\n    {link}\n\nin a browser signed in to the situation room, "
                "check that it shows the code {code}, and approve it (within {n} minutes).\nWaiting for your "
                "approval…",
                minutes,
                link=asked["verification_uri_complete"],
                code=asked["user_code"],
            ),
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + asked["expires_in"]
        async with HubClient(args.url, token.text) as client:
            while True:
                answer: dict[str, Any] = await client.call("GET", "/api/v1/cli-login")
                if answer["status"] == "approved":
                    return answer
                if time.monotonic() > deadline:
                    raise CliError(tr("the request expired before it was approved; run crisis-hub login again"))
                await asyncio.sleep(max(1, asked["interval"]))

    try:
        approved = asyncio.run(run())
    except HubClientError as exc:
        raise CliError(str(exc)) from None
    if args.no_save:
        print(
            tr("signed in as {label}; the token works until {expires}:", label=approved["label"],
               expires=approved["expires"]),
            file=sys.stderr,
        )  # fmt: skip
        print(token.text, flush=True)
        return 0
    hubs = _saved(tr)
    hubs[_hub_key(args.url)] = {
        "token": token.text,
        "person": approved["person"]["id"],
        "label": approved["label"],
        "expires": approved["expires"],
    }
    path = _write(hubs)
    hub = _hub_key(args.url)
    print(
        tr(
            "signed in to {hub} as {label} until {expires}; token saved in {path}",
            hub=hub,
            label=approved["label"],
            expires=approved["expires"],
            path=path,
        )
    )
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    """Revoke the token ``login`` saved for the hub at --url (or the one given), and forget it."""
    from connectors.client import HubClient, HubClientError

    tr: Translator = args.tr
    saved = saved_token(args.url, tr)
    token = saved or args.token  # --token defaults to CRISIS_HUB_TOKEN: a stakeholder's, which cannot sign out
    if not token:
        raise CliError(tr("no token saved for {hub}: nothing to sign out", hub=_hub_key(args.url)), 2)

    async def run() -> None:
        async with HubClient(args.url, token) as client:
            await client.call("DELETE", "/api/v1/cli-login")

    valid = True
    try:
        asyncio.run(run())
    except HubClientError as exc:
        if exc.status != 401:  # 401: revoked or expired already; forgetting it is all there is left to do
            raise CliError(str(exc)) from None
        valid = False
    forgotten = token == saved
    if saved and forgotten:
        hubs = _saved(tr)
        hubs.pop(_hub_key(args.url), None)
        _write(hubs)
    hub = _hub_key(args.url)
    if valid:
        said = (
            tr("signed out of {hub}: the token is revoked and forgotten", hub=hub)
            if forgotten
            else tr("signed out of {hub}: the token is revoked", hub=hub)
        )
    else:
        said = (
            tr("signed out of {hub}: the token is no longer valid and forgotten", hub=hub)
            if forgotten
            else tr("signed out of {hub}: the token is no longer valid", hub=hub)
        )
    print(said)
    return 0
