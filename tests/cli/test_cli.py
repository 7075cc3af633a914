"""The command line, run as a user runs it: real processes, a real hub, the embedded Redis."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.tokens import split_token
from tests.conftest import STIX_DATA
from tests.timing import LONG_WAIT, QUIET, STARTUP, WAIT

CLI = [sys.executable, "-m", "hub"]
CRISIS_HUB = str(Path(sys.executable).parent / "crisis-hub")  # the installed command, as a user runs it


def crisis_hub(*args: str, timeout: float = 2 * STARTUP, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run the installed ``crisis-hub`` to its end; its exit status is the caller's to check."""
    return subprocess.run([CRISIS_HUB, *args], capture_output=True, text=True, timeout=timeout, **kwargs)


def no_traceback(stderr: str) -> None:
    """What every failure must look like: sentences, no Python traceback, nothing the runtime ignored."""
    for marker in ("Traceback", "Exception ignored", "Task was destroyed", "Error:"):
        assert marker not in stderr, stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=2 * STARTUP)
    if check and result.returncode != 0:
        raise AssertionError(f"crisis-hub {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def get(url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """``crisis-hub serve`` on the embedded Redis in a fresh data folder."""
    port = free_port()
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LONG_WAIT
    while True:
        try:
            if get(url + "/api/v1/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("hub did not start: " + (process.stdout.read() if process.stdout else ""))
        time.sleep(0.1)
    yield url, data_dir, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=LONG_WAIT)


def test_serve_token_push_read_as_a_new_user_would(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, data_dir, _ = served
    banxico = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    committee = run("token", "create", "sspc", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    observer = run("token", "create", "observer", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    assert banxico.startswith("chub_")

    bundle = STIX_DATA / "oasis-examples" / "apt1.json"
    pushed = run("push", str(bundle), "--channel", "sector.finance", "--token", banxico, "--url", url, "--batch", "30")
    total = len(json.loads(bundle.read_text())["objects"])
    assert f"{total} objects: {total} accepted, 0 duplicates, 0 rejected" in pushed.stdout

    again = run("push", str(bundle), "--channel", "sector.finance", "--token", banxico, "--url", url)
    assert f"0 accepted, {total} duplicates, 0 rejected" in again.stdout

    status, page = get(url + "/api/v1/channels/sector.finance/events?limit=1000", committee)
    assert status == 200 and len(page["events"]) == total
    assert get(url + "/api/v1/channels/sector.finance/events", observer)[0] == 403


def test_push_reports_rejections_and_fails(served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "pemex", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    bad = tmp_path / "bad.json"
    bad.write_bytes((STIX_DATA / "invalid" / "invalid_timestamp.json").read_bytes())
    result = run("push", str(bad), "--channel", "sector.energy", "--token", token, "--url", url, check=False)
    assert result.returncode == 1
    assert "0 accepted, 0 duplicates, 1 rejected" in result.stdout
    assert "modified" in result.stdout


def test_push_to_a_forbidden_channel_says_why(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, data_dir, _ = served
    token = run("token", "create", "pemex", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    bundle = STIX_DATA / "oasis-examples" / "indicator-for-c2-ip-address.json"
    result = run("push", str(bundle), "--channel", "sector.finance", "--token", token, "--url", url, check=False)
    assert result.returncode == 1 and "403" in result.stderr and "may not write" in result.stderr


def test_token_list_and_revoke_take_effect_on_the_running_hub(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, data_dir, _ = served
    token = (
        run("token", "create", "cfe", "--label", "scada-gw", "--data-dir", str(data_dir))
        .stdout.strip()
        .splitlines()[-1]
    )
    token_id = token.split("_")[1]
    listing = run("token", "list", "--data-dir", str(data_dir)).stdout
    parts = split_token(token)
    assert parts is not None and token_id in listing and "scada-gw" in listing and parts[1] not in listing
    assert get(url + "/api/v1/me", token)[0] == 200
    run("token", "revoke", token_id, "--data-dir", str(data_dir))
    assert get(url + "/api/v1/me", token)[0] == 401


def test_sigterm_stops_the_hub_and_its_embedded_redis(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, data_dir, process = served
    redis_url = (data_dir / "redis.url").read_text().strip()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=LONG_WAIT) == 0
    assert not (data_dir / "redis.url").exists()
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_token_create_works_without_a_running_hub_and_persists(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "d")
    token = run("token", "create", "cert-mx", "--data-dir", data_dir).stdout.strip().splitlines()[-1]
    assert token.startswith("chub_")
    # The temporary Redis was stopped; the token survived in the AOF.
    assert not (Path(data_dir) / "redis.url").exists()
    assert token.split("_")[1] in run("token", "list", "--data-dir", data_dir).stdout


def test_unknown_stakeholder_is_refused_by_token_create(tmp_path: Path) -> None:
    result = run("token", "create", "nobody", "--data-dir", str(tmp_path), check=False)
    assert result.returncode == 2 and "nobody" in result.stderr and "banxico" in result.stderr


def test_a_bad_config_file_names_the_key_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[channels.x]\ntitle = "X"\ndefault_tlp = "mauve"\n[roles.r]\n[stakeholders.s]\nname="S"\nroles=["r"]\n'
    )
    result = run("serve", "--config", str(bad), "--data-dir", str(tmp_path), check=False)
    assert result.returncode == 2 and "channels.x.default_tlp" in result.stderr


def test_serve_with_redis_url_uses_that_server(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CRISIS_HUB_NAMESPACE": "cli-redis-url"}
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--redis-url", redis_url, "--data-dir", str(tmp_path / "unused")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + LONG_WAIT
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("hub did not start")
        assert not (tmp_path / "unused").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=LONG_WAIT)


class Lines:
    """Lines of a running process's stdout, read in a thread so waits can time out."""

    def __init__(self, stream: Any) -> None:
        import threading

        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(line)

    def take(self, count: int, timeout: float = LONG_WAIT) -> list[str]:
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while len(lines) < count:
            lines.append(self.queue.get(timeout=max(0.01, deadline - time.monotonic())))
        return lines


def watch(url: str, token: str, *extra: str) -> tuple[subprocess.Popen[str], Lines]:
    process = subprocess.Popen(
        [*CLI, "watch", "--channel", "sector.finance", "--token", token, "--url", url, "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    status = Lines(process.stderr)
    assert "# connecting to ws://" in status.take(1)[0]
    assert "# live on sector.finance" in status.take(1)[0]  # subscribed: from now on nothing is missed
    return process, Lines(process.stdout)


def push_new(url: str, token: str, tmp_path: Path, count: int, tlp_ref: str | None = None) -> list[str]:
    from tests.stixgen import bundle, indicator

    objects = [indicator() for _ in range(count)]
    if tlp_ref:
        for obj in objects:
            obj["object_marking_refs"] = [tlp_ref]
    path = tmp_path / f"b{time.monotonic_ns()}.json"
    path.write_text(json.dumps(bundle(*objects)))
    run("push", str(path), "--channel", "sector.finance", "--token", token, "--url", url)
    return [o["id"] for o in objects]


def test_watch_shows_pushes_and_resumes_with_since_losing_and_repeating_nothing(
    served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, data_dir, _ = served
    banxico = run("token", "create", "banxico", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    watcher, lines = watch(url, banxico)
    try:
        first = push_new(url, banxico, tmp_path, 3)
        events = [json.loads(line) for line in lines.take(3)]
        assert [e["object"]["id"] for e in events] == first
    finally:
        watcher.kill()
        watcher.wait()
    missed = push_new(url, banxico, tmp_path, 4)  # while no watcher runs
    watcher, lines = watch(url, banxico, "--since", events[-1]["id"])
    try:
        resumed = [json.loads(line) for line in lines.take(4)]
        assert [e["object"]["id"] for e in resumed] == missed
        live = push_new(url, banxico, tmp_path, 2)
        assert [json.loads(line)["object"]["id"] for line in lines.take(2)] == live
        with pytest.raises(queue.Empty):  # nothing more: no duplicate
            lines.take(1, timeout=QUIET)
    finally:
        watcher.kill()
        watcher.wait()


def test_watch_prints_one_readable_line_per_event() -> None:
    from hub.cli.watch import format_event

    line = format_event(
        {"time": "2026-11-27T10:00:00.000Z", "channel": "sector.finance", "tlp": "amber", "source": "banxico",
         "type": "indicator", "object": {"id": "indicator--1", "name": "C2\nserver"}}
    )  # fmt: skip
    assert line.startswith("2026-11-27T10:00:00.000Z  sector.finance")
    assert "AMBER" in line and "banxico" in line and line.endswith("indicator--1  C2 server")


def test_watch_refuses_a_channel_the_token_may_not_read(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, data_dir, _ = served
    observer = run("token", "create", "observer", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]
    result = subprocess.run(
        [*CLI, "watch", "--channel", "sector.finance", "--token", observer, "--url", url],
        capture_output=True, text=True, timeout=LONG_WAIT,
    )  # fmt: skip
    assert result.returncode == 1 and "forbidden" in result.stderr


def test_serve_over_https_with_a_certificate(tmp_path: Path, redis_url: str) -> None:
    import http.client
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    env = {**os.environ, "CRISIS_HUB_NAMESPACE": "cli-https"}
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--redis-url", redis_url, "--cert", str(cert), "--key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + LONG_WAIT
        while True:
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{port}/api/v1/health", context=context, timeout=WAIT
                ) as r:
                    assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
                    break
            except (OSError, urllib.error.URLError):
                assert time.monotonic() < deadline and process.poll() is None, "no HTTPS hub"
                time.sleep(0.1)
        with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP is not served on the TLS port
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=WAIT)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=LONG_WAIT)


def test_https_needs_both_certificate_and_key(tmp_path: Path) -> None:
    result = run("serve", "--cert", str(tmp_path / "c.pem"), "--data-dir", str(tmp_path), check=False)
    assert result.returncode == 2 and "--cert and --key" in result.stderr


def test_a_redis_cluster_is_named_by_its_url(tmp_path: Path) -> None:
    result = run("token", "list", "--redis-cluster", "--data-dir", str(tmp_path), check=False)
    assert result.returncode == 2 and "--redis-cluster needs --redis-url" in result.stderr


def test_the_open_file_limit_is_raised_for_thousands_of_streams() -> None:
    import resource

    from hub.cli.serve import raise_file_limit

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, before[1]), before[1]))
        got = raise_file_limit(2048)
        assert got == min(2048, before[1]) == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
