"""The embedded Redis: a real redis-server, persisted with AOF, shared by commands on one folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from hub.embedded import EmbeddedRedis
from hub.errors import ConfigError


def test_data_survives_a_restart_through_the_aof(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, appendfsync="always") as server:
        client = redis.Redis.from_url(server.url)
        client.xadd("log", {"k": "v"})
        client.close()
    assert (tmp_path / "appendonly.aof").exists()
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        assert client.xlen("log") == 1
        client.close()


def test_a_second_user_of_the_folder_shares_the_running_server(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as first:
        second = EmbeddedRedis(tmp_path)
        assert second.start() == first.url and not second.owned
        second.stop()  # not its server: nothing happens
        assert redis.Redis.from_url(first.url).ping()
    assert not (tmp_path / "redis.url").exists()


def test_a_stale_url_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "redis.url").write_text("redis://127.0.0.1:1/0\n")
    with EmbeddedRedis(tmp_path) as server:
        assert server.owned and server.url != "redis://127.0.0.1:1/0"


def test_an_unknown_fsync_policy_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="appendfsync"):
        EmbeddedRedis(tmp_path, appendfsync="sometimes")
