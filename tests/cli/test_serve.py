"""``crisis-hub serve`` without ``--config``: it says it serves the demo committee, and refuses to in production."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from hub.cli.serve import _stop_on_sigterm, run_stoppable
from hub.embedded import EmbeddedRedis
from tests.cli.test_cli import CLI, Lines, crisis_hub, free_port, no_traceback, served
from tests.timing import LONG_WAIT, STARTUP

__all__ = ["served"]  # the fixture, for pytest


def test_serve_without_a_config_says_it_serves_the_demo_committee(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    _, _, process = served
    output = Lines(process.stdout)
    before: list[str] = []
    while not before or not before[-1].startswith("Crisis Hub on "):
        before += output.take(1)
    warnings = [line for line in before if "built-in demo committee" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "--config" in warnings[0], before


def test_serve_refuses_the_demo_committee_in_production(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CRISIS_HUB_CONFIG"} | {"CRISIS_HUB_ENV": "production"}
    result = crisis_hub(
        "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"), env=env, timeout=STARTUP
    )
    assert result.returncode == 2
    no_traceback(result.stderr)
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert "CRISIS_HUB_ENV=production" in result.stderr and "--config" in result.stderr
    assert not (tmp_path / "d").exists()  # refused before any Redis started


def test_serve_in_production_runs_the_config_it_is_given(tmp_path: Path) -> None:
    """The refusal is about the demo only: a config file passes (here its check fails later, on the TLS key)."""
    config = Path(__file__).parents[2] / "hub" / "demo.toml"
    env = os.environ | {"CRISIS_HUB_ENV": "production"}
    result = crisis_hub("serve", "--config", str(config), "--cert", "c.pem", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2 and "--cert and --key" in result.stderr, result.stderr
    assert "demo committee" not in result.stderr


def test_serve_gives_the_embedded_redis_its_memory_limit_and_says_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(free_port()), "--data-dir", str(data_dir), "--maxmemory", "64mb"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = Lines(process.stdout)
        printed = output.take(2)
        assert printed[0].startswith("Embedded Redis memory limit: 64.0 MiB (--maxmemory)"), printed
        assert printed[1].startswith("Crisis Hub on "), printed
        client = redis.Redis.from_url((data_dir / "redis.url").read_text().strip(), decode_responses=True)
        try:
            settings = client.config_get("maxmemory*")
        finally:
            client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=LONG_WAIT)
    assert settings["maxmemory"] == str(64 * 1024**2) and settings["maxmemory-policy"] == "noeviction"


def test_serve_refuses_a_memory_limit_that_is_no_size(tmp_path: Path) -> None:
    result = crisis_hub("serve", "--data-dir", str(tmp_path / "d"), "--maxmemory", "lots")
    assert result.returncode == 2
    no_traceback(result.stderr)
    assert "--maxmemory" in result.stderr and "512mb or 2gb" in result.stderr
    assert not (tmp_path / "d").exists()


def test_serve_refuses_an_evicting_redis_saying_why_and_how_to_fix_it(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url)
        client.config_set("maxmemory-policy", "allkeys-lru")
        client.close()
        result = crisis_hub("serve", "--redis-url", server.url, "--port", str(free_port()), timeout=STARTUP)
    assert result.returncode == 2
    no_traceback(result.stderr)
    assert result.stdout == ""  # refused before it says it serves
    (refusal,) = [line for line in result.stderr.splitlines() if line.startswith("crisis-hub: ")]
    assert "maxmemory-policy is allkeys-lru" in refusal and "silently deletes stored objects" in refusal
    assert "CONFIG SET maxmemory-policy noeviction" in refusal and "redis.conf" in refusal


def test_a_sigterm_while_serve_starts_stops_its_embedded_redis_too(tmp_path: Path) -> None:
    """SIGTERM as soon as the embedded Redis answers, before the server runs: the command stops, and takes the
    Redis it started with it (a supervisor stopping a hub that is still starting must not leave Redis behind)."""
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(free_port()), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url_file = data_dir / "redis.url"
    deadline = time.monotonic() + STARTUP
    try:
        url = ""
        while not url.endswith("\n") and process.poll() is None and time.monotonic() < deadline:
            url = url_file.read_text() if url_file.exists() else ""
            time.sleep(0.005)
        assert url.endswith("\n"), "the embedded Redis never answered"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=LONG_WAIT)
    finally:
        process.kill()
        process.wait()
    assert "Traceback" not in stderr, stderr
    client = redis.Redis.from_url(url.strip(), socket_connect_timeout=1)
    try:
        with pytest.raises(redis.ConnectionError):
            client.ping()
    finally:
        client.close()


@pytest.fixture
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM handled in this process as ``serve`` handles it while it starts; the handler before, after."""
    previous = signal.getsignal(signal.SIGTERM)
    _stop_on_sigterm()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_landing_inside_a_step_cancels_at_the_next_await_and_interrupts_after(
    sigterm_interrupts: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The signal arrives while a task runs (as the hub checks Redis): the task is cancelled where it waits, runs
    its cleanup, and the interrupt comes once the loop is closed, instead of killing the task mid-step."""
    seen: list[str] = []

    async def check() -> str:
        os.kill(os.getpid(), signal.SIGTERM)  # delivered here, in the middle of the task's step
        seen.append("step finished")
        try:
            await asyncio.sleep(LONG_WAIT)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "answered"

    with caplog.at_level(logging.DEBUG, logger="asyncio"), pytest.raises(KeyboardInterrupt):
        run_stoppable(check())
    assert seen == ["step finished", "cancelled"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_without_a_sigterm_the_result_is_returned_and_the_handler_restored(sigterm_interrupts: None) -> None:
    handler = signal.getsignal(signal.SIGTERM)

    async def check() -> str:
        await asyncio.sleep(0)
        return "answered"

    assert run_stoppable(check()) == "answered"
    assert signal.getsignal(signal.SIGTERM) is handler
