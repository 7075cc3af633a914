"""``crisis-hub token create|list|revoke``: API tokens, straight in the hub's Redis."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from hub.cli.errors import CliError, say
from hub.cli.language import headers
from hub.cli.store import RedisPlace, hub_listening, note, on_redis, open_redis, run_on, with_redis
from hub.config import load_config
from hub.errors import NotFound
from hub.i18n import Translator
from hub.store import Client, TokenRecord, TokenStore
from hub.store.audit import AuditLog
from hub.tokens import new_token, split_token


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def cmd_token_create(args: argparse.Namespace) -> int:
    """Store a new token; stderr says where, and warns when no hub uses that Redis. The token is stdout's last line."""
    tr: Translator = args.tr
    config = load_config(args.config)
    if args.stakeholder not in config.stakeholders:
        known = ", ".join(config.stakeholders)
        raise CliError(
            tr("no stakeholder {id!r} in {source} (known: {known})", id=args.stakeholder, source=config.source,
               known=known),
            2,
        )  # fmt: skip
    token = new_token()

    async def create(client: Client) -> bool | None:
        await TokenStore(client, args.namespace).add(args.stakeholder, token, args.label)
        audit = AuditLog(client, args.namespace)
        await note(audit, "token.create", stakeholder=args.stakeholder, token=token.token_id)
        return await hub_listening(client)

    with open_redis(args) as place:
        listening = run_on(place, args, create)
    warning = _no_hub_warning(args, place, listening)
    if warning:
        say(tr("warning: {warning}", warning=warning))
    print(
        tr(
            "token {id} for {stakeholder} stored in {where} (shown once; only its hash is kept):",
            id=token.token_id,
            stakeholder=args.stakeholder,
            where=place.where,
        ),
        file=sys.stderr,
        flush=True,
    )
    print(token.text, flush=True)
    return 0


def _no_hub_warning(args: argparse.Namespace, place: RedisPlace, listening: bool | None) -> str:
    """Why a new token may not work, or "": the hub answers 401 to a token stored in another Redis."""
    tr: Translator = args.tr
    if args.redis_url:
        if listening is False:
            return tr(
                "no hub is connected to Redis at {url}: the token works with a hub started with --redis-url {url}; "
                "any other hub answers 401 unknown token",
                url=args.redis_url,
            )
        return ""
    if place.started:
        data_dir = Path(args.data_dir).resolve()
        if place.new:
            return tr(
                "no hub is running on {folder} (a new, empty data dir): the token works with a hub started with "
                "--data-dir {folder}; a hub on another --data-dir or --redis-url answers 401 unknown token",
                folder=data_dir,
            )
        return tr(
            "no hub is running on {folder}: the token works with a hub started with --data-dir {folder}; "
            "a hub on another --data-dir or --redis-url answers 401 unknown token",
            folder=data_dir,
        )
    return ""


def cmd_token_list(args: argparse.Namespace) -> int:
    records = on_redis(args, TokenStore, lambda tokens: tokens.list())
    token_id, stakeholder, person, created, revoked, expires, label = headers(
        args.tr("id|stakeholder|person|created|revoked|expires|label")
    )
    print(f"{token_id:12}  {stakeholder:16}  {person:16}  {created:20}  {revoked:20}  {expires:20}  {label}")
    for r in records:
        print(
            f"{r.token_id:12}  {r.stakeholder:16}  {r.person or '-':16}  {_when(r.created):20}  {_when(r.revoked):20}  "
            f"{_when(r.expires):20}  {r.label}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    tr: Translator = args.tr
    parts = split_token(args.token)
    token_id = parts[0] if parts else args.token

    async def revoke(client: Client) -> tuple[TokenRecord, bool]:
        tokens = TokenStore(client, args.namespace)
        record = await tokens.get(token_id)
        if record is None:
            raise NotFound(tr("no token with id {id}", id=token_id))
        if record.revoked is not None:
            return record, False
        record = await tokens.revoke(token_id)
        await note(AuditLog(client, args.namespace), "token.revoke", stakeholder=record.stakeholder, token=token_id)
        return record, True

    record, revoked = with_redis(args, revoke)
    if revoked:
        print(tr("token {id} of {stakeholder} revoked", id=record.token_id, stakeholder=record.stakeholder))
    else:
        print(
            tr(
                "token {id} of {stakeholder} was already revoked ({when}): nothing to do",
                id=record.token_id,
                stakeholder=record.stakeholder,
                when=_when(record.revoked),
            )
        )
    return 0
