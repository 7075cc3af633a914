"""What ownership costs on the write path: ``python -m bench.ownership [--redis-url U]``.

A script, not a test; under a minute. One hub in this process (the embedded
Redis unless ``--redis-url``), the ATT&CK for ICS bundle (1826 objects) posted
over HTTP. It prints one ``name: value`` line per figure:

* ``attack_ics_first_post_s``: stored by its first poster (every id claimed);
* ``attack_ics_repost_s``: the same stakeholder again (all duplicates);
* ``attack_ics_reshare_s``: a second stakeholder posts the same bundle to
  another channel (no id is its own: every object is checked as a copy);
* ``indicators_1000_s``: 1,000 new indicators in one bundle, for scale.

Each figure is the best of three runs, on a fresh namespace each time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Final

import orjson
from aiohttp.test_utils import TestClient, TestServer

from bench.stixgen import pattern
from hub.app import create_app
from hub.config import load_config
from hub.embedded import EmbeddedRedis
from hub.store import TokenStore, connect
from hub.tokens import new_token

ATTACK: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "stix" / "attack" / "ics-attack-18.1.json"
RUNS: Final = 3


def _indicators(count: int) -> bytes:
    objects = []
    for n in range(count):
        objects.append(
            {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
                "pattern": pattern(n), "pattern_type": "stix", "valid_from": "2026-11-27T10:00:00Z",
            }
        )  # fmt: skip
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})


async def _one_run(redis_url: str) -> dict[str, float]:
    config = load_config(None)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    tokens = {}
    client = connect(redis_url)
    for who in ("pemex", "cert-mx"):
        token = new_token()
        await TokenStore(client, namespace).add(who, token)
        tokens[who] = token.text
    await client.aclose()
    body = ATTACK.read_bytes()
    figures: dict[str, float] = {}
    async with TestClient(TestServer(create_app(config, redis_url, namespace=namespace), host="127.0.0.1")) as hub:

        async def post(name: str, who: str, channel: str, data: bytes) -> None:
            headers = {"Authorization": f"Bearer {tokens[who]}", "Content-Type": "application/json"}
            started = time.perf_counter()
            async with hub.post(f"/api/v1/channels/{channel}/objects", data=data, headers=headers) as response:
                answer = await response.json()
                assert response.status in (200, 201), answer
                assert not answer["rejected"], answer["rejected"][:3]
            figures[name] = time.perf_counter() - started

        await post("attack_ics_first_post_s", "pemex", "sector.energy", body)
        await post("attack_ics_repost_s", "pemex", "sector.energy", body)
        await post("attack_ics_reshare_s", "cert-mx", "sector.finance", body)
        await post("indicators_1000_s", "pemex", "sector.energy", _indicators(1000))
    return figures


async def main(redis_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        if redis_url is None:
            with EmbeddedRedis(Path(folder)) as server:
                runs = [await _one_run(server.url) for _ in range(RUNS)]
        else:
            runs = [await _one_run(redis_url) for _ in range(RUNS)]
    for name in runs[0]:
        print(f"{name}: {min(r[name] for r in runs):.3f}")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", help="a Redis server to use instead of an embedded one")
    args: Any = parser.parse_args(argv)
    asyncio.run(main(args.redis_url))


if __name__ == "__main__":
    cli()
