"""Failures of the installed ``crisis-hub``: one sentence and an exit status, never a traceback.

A port in use, output piped into ``head``, a Redis that does not answer, a data dir
that cannot be one: each is run as a user runs it, in a real process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import TokenStore, connect
from hub.store.audit import AuditLog
from hub.tokens import new_token
from tests.cli.test_cli import CRISIS_HUB, Lines, crisis_hub, free_port, no_traceback, push_new, run, served
from tests.timing import QUIET, STARTUP, WAIT

__all__ = ["served"]  # a fixture these tests use


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_one_line_naming_the_address_and_port_option(
    command: str, busy_port: int, tmp_path: Path
) -> None:
    result = crisis_hub(command, "--port", str(busy_port), "--data-dir", str(tmp_path / "d"), timeout=STARTUP)
    assert result.returncode == 1
    no_traceback(result.stderr)
    [line] = [line for line in result.stderr.splitlines() if line.startswith("crisis-hub:")]
    assert f"127.0.0.1:{busy_port} is already in use" in line and "--port" in line
    assert not (tmp_path / "d").exists()  # refused before starting anything


def piped_into_head(args: list[str], lines: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``crisis-hub ARGS | head -LINES`` in a shell, with the command's exit status (pipefail)."""
    command = f"set -o pipefail; {shlex.join([CRISIS_HUB, *args])} | head -{lines}"
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=2 * STARTUP, env=env)


async def fill(redis_url: str, namespace: str, count: int) -> None:
    """``count`` tokens, and as many audit entries: listings far longer than a pipe's buffer."""
    client = connect(redis_url)
    try:
        tokens, audit = TokenStore(client, namespace), AuditLog(client, namespace)
        for i in range(count):
            await tokens.add("banxico", new_token(), f"label {i}")
            audit.record("token.create", "test", stakeholder="banxico", token=str(i))
        await audit.flush()
    finally:
        await client.aclose()


def test_listings_piped_into_head_stop_quietly(redis_url: str, namespace: str) -> None:
    asyncio.run(fill(redis_url, namespace, 2000))
    env = {**os.environ, "CRISIS_HUB_NAMESPACE": namespace}
    tokens = piped_into_head(["token", "list", "--redis-url", redis_url], 2, env)
    assert tokens.stdout.splitlines()[0].startswith("id ") and len(tokens.stdout.splitlines()) == 2
    audit = piped_into_head(["audit", "export", "--redis-url", redis_url], 3, env)
    assert [json.loads(line)["record"]["action"] for line in audit.stdout.splitlines()] == ["token.create"] * 3
    for result in (tokens, audit):
        assert result.stderr == "" and result.returncode == 141  # as a Unix tool killed by SIGPIPE


def test_watch_piped_into_head_stops_after_its_line(
    served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    args = ["watch", "--json", "--channel", "sector.finance", "--token", token, "--url", url]
    command = f"set -o pipefail; {shlex.join([CRISIS_HUB, *args])} | head -1"
    pipeline = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        status = Lines(pipeline.stderr)
        while "# live on" not in status.take(1)[0]:
            pass
        [first, *_] = push_new(url, token, tmp_path, 3)
        assert pipeline.wait(timeout=WAIT) == 141  # it ends by itself once head has its line
        assert pipeline.stdout is not None and json.loads(pipeline.stdout.read())["object"]["id"] == first
        time.sleep(QUIET)  # anything it would still print
        stderr = "".join(status.queue.queue)
        no_traceback(stderr)
        assert "Error" not in stderr and "aclose" not in stderr
    finally:
        if pipeline.poll() is None:
            pipeline.kill()
            pipeline.wait()


def test_a_redis_that_does_not_answer_is_named(tmp_path: Path) -> None:
    gone = f"redis://127.0.0.1:{free_port()}/0"
    for args in (["token", "list"], ["audit", "export"], ["token", "create", "banxico"], ["connector", "list"]):
        result = crisis_hub(*args, "--redis-url", gone, timeout=STARTUP)
        no_traceback(result.stderr)
        assert result.returncode == 1, result.stderr
        said = f"crisis-hub: Redis at {gone} does not answer: is it running, and is --redis-url right?\n"
        assert result.stderr == said


def test_files_that_are_missing_or_not_what_they_should_be_are_one_sentence(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("not a folder")
    cases = [
        (["token", "list", "--data-dir", str(plain / "sub")], f"cannot use {plain / 'sub'} as the data dir"),
        (["token", "create", "banxico", "--config", str(tmp_path / "absent.toml")], "cannot read config file"),
        (["serve", "--config", str(tmp_path), "--data-dir", str(tmp_path / "d")], "cannot read config file"),
        (["push", str(tmp_path), "--channel", "c", "--token", "t"], f"cannot read {tmp_path}"),
        (["import", str(tmp_path / "absent"), "--channel", "c", "--token", "t"], "nothing to import"),
        (["config", "check", str(tmp_path)], f"cannot read {tmp_path}"),
    ]
    for args, message in cases:
        result = crisis_hub(*args, timeout=STARTUP, cwd=tmp_path)
        no_traceback(result.stderr)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, result.stderr
