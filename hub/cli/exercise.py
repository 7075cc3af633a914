"""``crisis-hub exercise run``: play a scenario's timed injects against a running hub, as the stakeholders it names.

Each inject is sent over the hub's HTTP API (or TAXII, for a partner) with
the token of the stakeholder it names, exactly as that stakeholder's tools
would send it; the crisis it declares is marked as an exercise. The file is
checked whole before the first inject (:mod:`hub.cli.scenario`); while
playing, one line per inject shows the progress, and the first inject the hub
refuses stops the exercise with one sentence saying which and why.

Tokens come from ``--tokens FILE`` (JSON or TOML: stakeholder id to token)
or from ``CRISIS_HUB_TOKEN_<ID>`` (the id in capitals, every character other
than a letter or digit an underscore: ``CRISIS_HUB_TOKEN_CERT_MX``); the file wins.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hub.cli.errors import CliError
from hub.cli.options import STAKEHOLDER_TOKEN
from hub.cli.scenario import Inject, Scenario, ScenarioError, load, offset, stix_object
from hub.i18n import Translator

if TYPE_CHECKING:
    from connectors.client import HubClient


def token_variable(stakeholder: str) -> str:
    """The environment variable that holds ``stakeholder``'s token: ``cert-mx`` → ``CRISIS_HUB_TOKEN_CERT_MX``."""
    return STAKEHOLDER_TOKEN + re.sub(r"[^A-Z0-9]", "_", stakeholder.upper())


def read_tokens(path: Path | None, stakeholders: list[str], tr: Translator) -> dict[str, str]:
    """A token for each of ``stakeholders``: from the file at ``path``, else the environment."""
    given: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise CliError(tr("cannot read {path}: {reason}", path=path, reason=exc.strerror), 2) from None
        toml = path.suffix == ".toml"
        try:
            given = tomllib.loads(text.decode()) if toml else orjson.loads(text)
        except (tomllib.TOMLDecodeError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            kind = "TOML" if toml else "JSON"
            raise CliError(tr("{path} is not {kind}: {reason}", path=path, kind=kind, reason=exc), 2) from None
        if not isinstance(given, dict):
            raise CliError(tr("{path} must map stakeholder ids to tokens", path=path), 2)
    tokens: dict[str, str] = {}
    for who in stakeholders:
        token = given.get(who) or os.environ.get(token_variable(who))
        if isinstance(token, str) and token:
            tokens[who] = token
    missing = [who for who in stakeholders if who not in tokens]
    if missing:
        where = ", ".join(token_variable(m) for m in missing)
        raise CliError(
            tr("no token for {stakeholders}: give --tokens FILE or set {variables}", stakeholders=", ".join(missing),
               variables=where),
            2,
        )  # fmt: skip
    return tokens


class InjectFailed(Exception):
    """The hub refused an inject, or a reference it makes found nothing."""


@dataclass(frozen=True, slots=True)
class Made:
    """What an inject made on the hub: an object's id and (for a crisis version) the version; its crisis."""

    id: str
    version: str | None
    crisis: str


class Player:
    """Plays ``scenario`` against the hub at ``url``, ``speed`` times faster than written, saying it in ``tr``'s
    language."""

    def __init__(self, url: str, tokens: Mapping[str, str], scenario: Scenario, speed: float, tr: Translator) -> None:
        self.tr = tr
        self.url = url
        self.tokens = dict(tokens)
        self.scenario = scenario
        self.speed = speed
        self.clients: dict[str, HubClient] = {}
        self.made: dict[int, Made] = {}
        self.labels: dict[str, int] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.crises: dict[str, str] = {}
        self.crisis: str | None = None
        self.played = 0

    async def play(self) -> None:
        from connectors.client import HubClient

        for who, token in self.tokens.items():
            self.clients[who] = await HubClient(self.url, token).__aenter__()
        try:
            start = time.monotonic()
            total = len(self.scenario.injects)
            for inject in self.scenario.injects:
                delay = start + inject.at / self.speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                what = await self.run(inject)
                self.played += 1
                print(f"{inject.number:>3}/{total}  +{inject.at:<5g} {inject.who:<13} {inject.action:<11} {what}",
                      flush=True)  # fmt: skip
        finally:
            for client in self.clients.values():
                await client.__aexit__(None, None, None)

    async def run(self, inject: Inject) -> str:
        """Send one inject; what it made, in a few words."""
        from connectors.client import HubClientError

        try:
            made, what = await getattr(self, f"_{inject.action}")(inject, self.clients[inject.who])
        except HubClientError as exc:
            raise InjectFailed(
                self.tr("{inject} failed: {error}", inject=inject.describe(self.tr), error=exc)
            ) from None
        if made is not None:
            self.made[inject.number] = made
        if inject.label is not None:
            self.labels[inject.label] = inject.number
        return str(what)

    # references ------------------------------------------------------------------------
    def _earlier(self, ref: str) -> Made | None:
        number = int(ref[1:]) if ref.startswith("@") else self.labels.get(ref)
        return self.made.get(number) if number is not None else None

    def _crisis_of(self, inject: Inject) -> str:
        if inject.crisis is None:
            if self.crisis is None:
                raise InjectFailed(
                    self.tr("{inject}: no crisis has been declared before it", inject=inject.describe(self.tr))
                )
            return self.crisis
        found = self._earlier(inject.crisis)
        crisis = found.crisis if found is not None else self.crises.get(inject.crisis)
        if crisis is None:
            raise InjectFailed(
                self.tr(
                    "{inject}: crisis {crisis!r} was not declared",
                    inject=inject.describe(self.tr),
                    crisis=inject.crisis,
                )
            )
        return crisis

    def _item(self, ref: str, inject: Inject) -> Made:
        found = self._earlier(ref)
        if found is None:
            raise InjectFailed(
                self.tr("{inject}: {ref!r} made nothing to refer to", inject=inject.describe(self.tr), ref=ref)
            )
        return found

    def _refs(self, refs: list[str], inject: Inject) -> list[str]:
        out = []
        for ref in refs:
            if ref in self.objects:
                out.append(self.objects[ref]["id"])
            elif "--" in ref and self._earlier(ref) is None:
                out.append(ref)
            else:
                out.append(self._item(ref, inject).id)
        return out

    def _due(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``due = "+30s"`` (scenario time after the inject) as the hub's ``in_minutes``, at this speed."""
        fields = {k: v for k, v in body.items() if k != "due"}
        if "due" in body:
            fields["in_minutes"] = offset(body["due"], "due") / self.speed / 60
        elif "in_minutes" in body:
            fields["in_minutes"] = float(body["in_minutes"]) / self.speed
        return fields

    # the actions -----------------------------------------------------------------------
    async def _declare(self, inject: Inject, client: HubClient) -> tuple[Made, str]:
        crisis = await client.call("POST", "/api/v1/crises", {**inject.body, "exercise": True})
        self.crisis = crisis["id"]
        self.crises[crisis["name"]] = crisis["id"]
        return Made(crisis["id"], crisis["modified"], crisis["id"]), f"{crisis['name']!r} → {crisis['id']}"

    async def _revise(self, inject: Inject, client: HubClient) -> tuple[Made, str]:
        crisis_id = self._crisis_of(inject)
        crisis = await client.call("PATCH", f"/api/v1/crises/{crisis_id}", dict(inject.body))
        changed = ", ".join(f"{k} {v}" for k, v in inject.body.items())
        return Made(crisis_id, crisis["modified"], crisis_id), changed

    async def _update(self, inject: Inject, client: HubClient) -> tuple[Made, str]:
        crisis_id = self._crisis_of(inject)
        body = {k: v for k, v in inject.body.items() if k != "refs"}
        if inject.body.get("refs"):
            body["object_refs"] = self._refs(inject.body["refs"], inject)
        event = await client.call("POST", f"/api/v1/crises/{crisis_id}/updates", body)
        title = inject.body.get("abstract") or str(inject.body.get("content", ""))[:60]
        return Made(event["object"]["id"], None, crisis_id), self.tr("{title!r} on {channel}", title=title,
                                                                     channel=event["channel"])  # fmt: skip

    async def _sitrep(self, inject: Inject, client: HubClient) -> tuple[Made, str]:
        crisis_id = self._crisis_of(inject)
        body = {k: v for k, v in inject.body.items() if k != "refs"}
        if inject.body.get("refs"):
            body["object_refs"] = self._refs(inject.body["refs"], inject)
        event = await client.call("POST", f"/api/v1/crises/{crisis_id}/sitreps", body)
        return Made(event["object"]["id"], None, crisis_id), repr(event["object"]["name"])

    async def _assign(self, inject: Inject, client: HubClient) -> tuple[Made, str]:
        crisis_id = self._crisis_of(inject)
        action = await client.call("POST", f"/api/v1/crises/{crisis_id}/actions", self._due(inject.body))
        what = self.tr(
            "{name!r} → {assignee}, due {due}", name=action["name"], assignee=action["assignee"], due=action["due"]
        )
        return Made(action["id"], None, crisis_id), what

    async def _move(self, inject: Inject, client: HubClient) -> tuple[None, str]:
        crisis_id = self._crisis_of(inject)
        action = self._item(str(inject.body["action"]), inject)
        body = {k: v for k, v in inject.body.items() if k != "action"}
        moved = await client.call("PATCH", f"/api/v1/crises/{crisis_id}/actions/{action.id}", body)
        return None, f"{moved['name']!r} → {moved['status']}"

    async def _acknowledge(self, inject: Inject, client: HubClient) -> tuple[None, str]:
        crisis_id = self._crisis_of(inject)
        body: dict[str, Any] = {"item": crisis_id}
        if "item" in inject.body:
            item = self._item(str(inject.body["item"]), inject)
            body = {"item": item.id, **({"version": item.version} if item.version else {})}
        ack = await client.call("POST", f"/api/v1/crises/{crisis_id}/acks", body)
        return None, f"{ack['item']} ({ack['version']})"

    async def _push(self, inject: Inject, client: HubClient) -> tuple[None, str]:
        from hub.crisis.objects import now_stix
        from hub.tlp import TLP

        body = inject.body
        channel = str(body["channel"])
        if "file" in body:
            objects = self._file_objects(self.scenario.folder / str(body["file"]), inject, self.tr)
        else:
            marking = TLP.parse(str(body["tlp"])).marking_id if "tlp" in body else None
            ids = {key: obj["id"] for key, obj in self.objects.items()}
            objects = []
            for spec in body["objects"]:
                if "copy" in spec:
                    objects.append(self.objects[spec["copy"]])
                    continue
                obj = stix_object(spec, ids, marking, now_stix())
                if "key" in spec:
                    self.objects[spec["key"]] = obj
                    ids[spec["key"]] = obj["id"]
                objects.append(obj)
        if body.get("via") == "taxii":
            status = await client.taxii_add(channel, objects)
            if status["failure_count"]:
                reasons = "; ".join(f"{f['id']}: {f.get('message', '')}" for f in status["failures"][:3])
                raise InjectFailed(
                    self.tr(
                        "{inject} failed: {n} refused ({reasons})",
                        inject=inject.describe(self.tr),
                        n=status["failure_count"],
                        reasons=reasons,
                    )
                )
            return None, self.tr.plural(
                "{n} object to {channel} over TAXII", "{n} objects to {channel} over TAXII", status["success_count"],
                channel=channel,
            )  # fmt: skip
        answer = await client.push_objects(channel, objects)
        if answer.rejected:
            first, which = answer.rejected[0], inject.describe(self.tr)
            raise InjectFailed(
                self.tr.plural(
                    "{inject} failed: {n} object refused, the first because {reason}",
                    "{inject} failed: {n} objects refused, the first because {reason}",
                    len(answer.rejected),
                    inject=which,
                    reason=first["reason"],
                )
            )
        return None, self.tr.plural(
            "{n} object to {channel} ({duplicates} already there)",
            "{n} objects to {channel} ({duplicates} already there)",
            len(answer.accepted),
            channel=channel,
            duplicates=len(answer.duplicates),
        )

    @staticmethod
    def _file_objects(path: Path, inject: Inject, tr: Translator) -> list[Any]:
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise InjectFailed(
                tr("{inject}: cannot read the bundle {path}: {reason}", inject=inject.describe(tr), path=path,
                   reason=exc)
            ) from None  # fmt: skip
        objects = data.get("objects") if isinstance(data, dict) and data.get("type") == "bundle" else [data]
        if not isinstance(objects, list):
            raise InjectFailed(
                tr("{inject}: {path} is a bundle without an objects list", inject=inject.describe(tr), path=path)
            )
        return objects


def cmd_exercise_run(args: argparse.Namespace) -> int:
    """Play the scenario; exit 1 at the first inject the hub refuses, 2 if the file or the tokens are wrong."""
    tr: Translator = args.tr
    if not args.speed > 0:
        raise CliError(tr("--speed must be a positive number"), 2)
    try:
        scenario = load(args.scenario, tr)
    except ScenarioError as exc:
        raise CliError(f"{args.scenario}: {exc}", 2) from None
    tokens = read_tokens(args.tokens, scenario.stakeholders, tr)
    player = Player(args.url, tokens, scenario, args.speed, tr)
    total = len(scenario.injects)
    last = f"{scenario.injects[-1].at / args.speed:g}"
    name = scenario.name or args.scenario.name
    print(tr.plural("exercise {name!r}: {n} inject over {last} s", "exercise {name!r}: {n} injects over {last} s",
                    total, name=name, last=last), flush=True)  # fmt: skip
    try:
        asyncio.run(player.play())
    except InjectFailed as exc:
        raise CliError(
            tr.plural("{error}; {played} of {n} inject played", "{error}; {played} of {n} injects played", total,
                      error=exc, played=player.played)
        ) from None  # fmt: skip
    except KeyboardInterrupt:
        raise CliError(
            tr.plural("stopped after {played} of {n} inject", "stopped after {played} of {n} injects", total,
                      played=player.played),
            130,
        ) from None  # fmt: skip
    if player.crisis is not None:
        print(tr("done: see the after-action report with: crisis-hub report {crisis}", crisis=player.crisis),
              flush=True)  # fmt: skip
    return 0
