"""The embedded Redis: a real redis-server, persisted with AOF, shared by commands on one folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import redis

from hub.embedded import EmbeddedRedis, default_maxmemory
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


def test_the_embedded_redis_has_the_memory_limit_it_is_given_and_never_evicts(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, maxmemory=64 * 1024**2) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        settings = client.config_get("maxmemory*")
        client.close()
        assert settings["maxmemory"] == str(64 * 1024**2)
        assert settings["maxmemory-policy"] == "noeviction"
        assert server.memory_limit() == 64 * 1024**2


def test_without_a_limit_given_the_embedded_redis_gets_half_the_machine_memory(tmp_path: Path) -> None:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < default_maxmemory() <= ram // 2
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        settings = client.config_get("maxmemory*")
        client.close()
        assert int(settings["maxmemory"] or 0) == default_maxmemory()
        assert settings["maxmemory-policy"] == "noeviction"


def test_a_server_already_running_on_the_folder_keeps_its_limit(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, maxmemory=64 * 1024**2):
        second = EmbeddedRedis(tmp_path, maxmemory=32 * 1024**2)
        second.start()
        assert second.memory_limit() == 64 * 1024**2
        second.stop()


def test_a_limit_of_nothing_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="maxmemory"):
        EmbeddedRedis(tmp_path, maxmemory=0)


class InterruptWhenStarted(logging.Handler):
    """Ctrl-C as the server is announced: the last step of a start, after the URL file is written."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("embedded Redis started"):
            raise KeyboardInterrupt


def test_an_interrupt_at_the_end_of_a_start_stops_the_server_it_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    interrupter = InterruptWhenStarted()
    logger = logging.getLogger("hub.embedded")
    logger.addHandler(interrupter)
    server = EmbeddedRedis(tmp_path)
    try:
        with caplog.at_level(logging.INFO, logger="hub.embedded"), pytest.raises(KeyboardInterrupt):
            server.start()
    finally:
        logger.removeHandler(interrupter)
    assert server.url and not server.owned
    assert not (tmp_path / "redis.url").exists()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
    try:
        with pytest.raises(redis.ConnectionError):
            client.ping()
    finally:
        client.close()
