"""``crisis-hub watch`` says what its connection does, and why the hub refused it, once."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from pathlib import Path

from tests.cli.test_cli import CRISIS_HUB, Lines, crisis_hub, free_port, no_traceback, run, served
from tests.stixgen import bundle, indicator
from tests.timing import LONG_WAIT, WAIT

__all__ = ["served"]  # a fixture these tests use


def start_watch(url: str, token: str, *extra: str) -> tuple[subprocess.Popen[str], Lines, Lines]:
    process = subprocess.Popen(
        [CRISIS_HUB, "watch", "--channel", "sector.finance", "--token", token, "--url", url, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return process, Lines(process.stdout), Lines(process.stderr)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def test_a_wrong_url_shows_each_attempt_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    process, _, status = start_watch(url, "chub_x_y")
    try:
        ws = url.replace("http://", "ws://") + "/api/v1/stream"
        assert status.take(1, timeout=WAIT) == [f"# connecting to {ws}\n"]
        [dropped] = status.take(1, timeout=WAIT)
        assert dropped.startswith("# disconnected: connection refused; reconnecting in ") and dropped.endswith(" s\n")
        assert status.take(1, timeout=WAIT) == [f"# connecting to {ws}\n"]  # and it tries again
    finally:
        stop(process)


def test_a_hub_that_goes_away_is_shown_disconnected_then_reconnecting(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, data_dir, hub = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    process, _, status = start_watch(url, token)
    try:
        assert status.take(2) == [
            f"# connecting to {url.replace('http', 'ws')}/api/v1/stream\n",
            "# live on sector.finance\n",
        ]
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=LONG_WAIT)
        [dropped] = status.take(1)
        assert dropped.startswith("# disconnected: ") and " reconnecting in " in dropped
    finally:
        stop(process)


def test_an_unknown_or_malformed_token_is_said_as_push_says_it_once(
    served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    unknown = token[:-1] + ("A" if token[-1] != "A" else "B")
    path = tmp_path / "one.json"
    path.write_text(json.dumps(bundle(indicator())))
    for bad, said in (
        (unknown, "401 Unauthorized: unknown token"),
        ("chub_nonsense", "401 Unauthorized: the token is malformed"),
    ):
        watched = crisis_hub("watch", "--channel", "sector.finance", "--token", bad, "--url", url, timeout=LONG_WAIT)
        pushed = crisis_hub("push", str(path), "--channel", "sector.finance", "--token", bad, "--url", url)
        for result in (watched, pushed):
            no_traceback(result.stderr)
            assert result.returncode == 1 and result.stderr.endswith(f"crisis-hub: {said}\n"), result.stderr
        assert "HTTP 401" not in watched.stderr and watched.stderr.count(said) == 1


def test_a_forbidden_channel_is_said_once(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, data_dir, _ = served
    observer = run("token", "create", "observer", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    result = crisis_hub("watch", "--channel", "sector.finance", "--token", observer, "--url", url, timeout=LONG_WAIT)
    assert result.returncode == 1 and result.stderr.count("forbidden") == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith("crisis-hub: forbidden: ")


def test_columns_stay_aligned_for_long_types(served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    process, lines, status = start_watch(url, token)
    try:
        while "# live on" not in status.take(1)[0]:
            pass
        marking = {
            "type": "marking-definition", "spec_version": "2.1", "id": f"marking-definition--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z", "definition_type": "statement",
            "definition": {"statement": "Copyright Central Bank"},
        }  # fmt: skip
        objects = [indicator(), marking, indicator()]
        path = tmp_path / "mixed.json"
        path.write_text(json.dumps(bundle(*objects)))
        run("push", str(path), "--channel", "sector.finance", "--token", token, "--url", url)
        printed = lines.take(3)
        columns = {line.index(obj["id"]) for line, obj in zip(printed, objects, strict=True)}
        assert len(columns) == 1, printed  # every id starts in the same column
        assert "marking-definition" in printed[1]
    finally:
        stop(process)
