"""``crisis-hub token``: where a token was stored, a warning when no hub uses that Redis, and revoking twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from hub.embedded import EmbeddedRedis
from tests.cli.test_cli import CRISIS_HUB, crisis_hub, free_port, get, no_traceback, served
from tests.timing import LONG_WAIT

__all__ = ["served"]  # a fixture these tests use


def test_a_token_made_in_the_wrong_folder_says_where_it_went_and_that_no_hub_uses_it(
    served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    """The README's way, ``TOKEN=$(crisis-hub token create banxico | tail -1)``, run in another folder."""
    url, data_dir, _ = served
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = crisis_hub("token", "create", "banxico", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    token = result.stdout.splitlines()[-1]
    status, answer = get(url + "/api/v1/me", token)
    assert (status, answer["description"]) == (401, "unknown token")  # the running hub does not know it
    new_dir = elsewhere / ".crisis-hub"
    assert f"stored in the embedded Redis of {new_dir}" in result.stderr
    assert f"warning: no hub is running on {new_dir} (a new, empty data dir)" in result.stderr
    assert "401 unknown token" in result.stderr and "--data-dir" in result.stderr

    right = crisis_hub("token", "create", "banxico", "--data-dir", str(data_dir), cwd=elsewhere)
    assert right.returncode == 0 and f"stored in the embedded Redis of {data_dir}" in right.stderr
    assert "warning" not in right.stderr
    assert right.stdout.count("\n") == 1 and get(url + "/api/v1/me", right.stdout.strip())[0] == 200


def test_a_token_in_a_redis_no_hub_is_connected_to_is_warned_about(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis") as redis_server:
        alone = crisis_hub("token", "create", "pemex", "--redis-url", redis_server.url, cwd=tmp_path)
        assert alone.returncode == 0 and alone.stdout.splitlines()[-1].startswith("chub_")
        assert f"stored in Redis at {redis_server.url}" in alone.stderr
        assert f"warning: no hub is connected to Redis at {redis_server.url}" in alone.stderr

        port = free_port()
        env = {**os.environ, "CRISIS_HUB_REDIS_URL": redis_server.url}
        hub = subprocess.Popen(
            [CRISIS_HUB, "serve", "--port", str(port)], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + LONG_WAIT
            while True:
                try:
                    if get(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline and hub.poll() is None, "no hub"
                time.sleep(0.1)
            shared = crisis_hub("token", "create", "pemex", "--redis-url", redis_server.url, cwd=tmp_path)
            assert shared.returncode == 0 and "warning" not in shared.stderr
            assert get(f"http://127.0.0.1:{port}/api/v1/me", shared.stdout.splitlines()[-1])[0] == 200
        finally:
            hub.send_signal(signal.SIGTERM)
            hub.wait(timeout=LONG_WAIT)


def test_revoking_a_revoked_token_says_so(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "d")
    token = crisis_hub("token", "create", "cfe", "--data-dir", data_dir).stdout.splitlines()[-1]
    token_id = token.split("_")[1]
    first = crisis_hub("token", "revoke", token_id, "--data-dir", data_dir)
    assert first.returncode == 0 and first.stdout == f"token {token_id} of cfe revoked\n"
    again = crisis_hub("token", "revoke", token, "--data-dir", data_dir)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"token {token_id} of cfe was already revoked (")
    assert again.stdout.rstrip().endswith("nothing to do")
    audit = crisis_hub("audit", "export", "--data-dir", data_dir).stdout
    assert audit.count('"token.revoke"') == 1  # the second revoke changed nothing, so recorded nothing
    unknown = crisis_hub("token", "revoke", "000000000000", "--data-dir", data_dir)
    no_traceback(unknown.stderr)
    assert unknown.returncode == 2 and unknown.stderr == "crisis-hub: no token with id 000000000000\n"
