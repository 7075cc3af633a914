"""``crisis-hub push`` and ``import``: an unreachable hub, and Ctrl-C half-way, said the same way by both."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import CRISIS_HUB, crisis_hub, free_port, get, no_traceback, run, served
from tests.stixgen import bundle, indicator
from tests.timing import LONG_WAIT

__all__ = ["served"]  # a fixture these tests use

RESUME = "run the same command again to finish (already stored objects count as duplicates)"


def write_bundles(folder: Path, files: int, per_file: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"b{i}.json" for i in range(files)]
    for path in paths:
        path.write_text(json.dumps(bundle(*(indicator() for _ in range(per_file)))))
    return paths


@pytest.mark.parametrize("command", ["push", "import"])
def test_an_unreachable_hub_is_one_sentence_and_no_progress_bar(command: str, tmp_path: Path) -> None:
    [path] = write_bundles(tmp_path, 1, 3)
    url = f"http://127.0.0.1:{free_port()}"
    result = crisis_hub(command, str(path), "--channel", "sector.finance", "--token", "chub_a_b", "--url", url)
    no_traceback(result.stderr)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"crisis-hub: cannot reach the hub at {url}: connection refused (is the hub running, and is --url right?)\n"
    )


def stored(url: str, token: str) -> int:
    return len(get(url + "/api/v1/channels/sector.finance/events?limit=1000", token)[1]["events"])


@pytest.mark.parametrize("command", ["push", "import"])
def test_ctrl_c_says_how_far_it_got_and_how_to_finish(
    command: str, served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.splitlines()[-1]
    paths = write_bundles(tmp_path / "in", 1 if command == "push" else 4, 400 if command == "push" else 100)
    what = [str(paths[0])] if command == "push" else [str(tmp_path / "in")]
    args = [CRISIS_HUB, command, *what, "--channel", "sector.finance", "--token", token, "--url", url, "--batch", "1"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + LONG_WAIT
    while stored(url, token) < 20:  # well under way
        assert time.monotonic() < deadline and process.poll() is None, "nothing arrived"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=LONG_WAIT)
    no_traceback(stderr)
    assert process.returncode == 130 and stdout == ""
    last = stderr.splitlines()[-1]
    if command == "push":
        found = re.fullmatch(rf"crisis-hub: stopped: (\d+) of 400 objects sent; {re.escape(RESUME)}", last)
    else:
        found = re.fullmatch(rf"crisis-hub: stopped: \d of 4 files \((\d+) objects\) sent; {re.escape(RESUME)}", last)
    assert found, stderr
    sent = int(found.group(1))
    assert 20 <= sent < 400

    again = crisis_hub(*args[1:])
    assert again.returncode == 0, again.stderr
    counts = re.search(r"400 objects: (\d+) accepted, (\d+) duplicates, 0 rejected", again.stdout)
    assert counts, again.stdout
    assert int(counts.group(2)) >= sent and stored(url, token) == 400
