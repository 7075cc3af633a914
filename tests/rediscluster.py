"""A real Redis Cluster for tests: three primaries, each a ``redis-server`` 7 process on loopback.

Each node gets two free ports (clients, cluster bus) and a folder of its own;
``redis-cli --cluster create`` assigns the 16384 slots and introduces the nodes.
Only the processes started here are ever stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import RedisCluster

MINIMUM = (7, 0)  # sharded pub/sub (SPUBLISH, SSUBSCRIBE)


def _version(exe: str) -> tuple[int, int]:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"(?:v=|redis-cli )(\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _recent(name: str) -> str | None:
    """The first ``name`` on PATH of version 7 or later: a Python environment may put an older one first."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        exe = shutil.which(name, path=folder) if folder else None
        if exe is not None and _version(exe) >= MINIMUM:
            return exe
    return None


def binaries() -> tuple[str, str] | None:
    """redis-server and redis-cli 7 or later, or None."""
    server, cli = _recent("redis-server"), _recent("redis-cli")
    return (server, cli) if server and cli else None


def unusable_reason() -> str | None:
    """Why no cluster can be started here, or None."""
    if binaries() is None:
        return "a Redis Cluster with sharded pub/sub needs redis-server and redis-cli 7 on PATH (Debian: redis-server)"
    return None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class LocalCluster:
    """``primaries`` redis-server processes in cluster mode under ``directory``; :meth:`start`, :meth:`stop`."""

    def __init__(self, directory: Path, primaries: int = 3) -> None:
        self.directory = directory
        self.primaries = primaries
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The URL of one node: a cluster client finds the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> LocalCluster:
        found = binaries()
        assert found is not None, unusable_reason()
        server, cli = found
        ports = _free_ports(2 * self.primaries)
        self.ports = ports[: self.primaries]
        try:
            for port, bus in zip(self.ports, ports[self.primaries :], strict=True):
                folder = self.directory / str(port)
                folder.mkdir(parents=True)
                args = [
                    server,
                    "--port", str(port),
                    "--cluster-port", str(bus),
                    "--bind", "127.0.0.1",
                    "--protected-mode", "yes",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(folder / "nodes.conf"),
                    "--cluster-node-timeout", "3000",
                    "--dir", str(folder),
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--logfile", str(folder / "redis.log"),
                ]  # fmt: skip
                self.processes.append(subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
            deadline = time.monotonic() + timeout
            for port in self.ports:
                self._until(deadline, lambda p=port: self._ping(p), f"node {port} did not answer")
            nodes = [f"127.0.0.1:{port}" for port in self.ports]
            subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            for port in self.ports:
                self._until(deadline, lambda p=port: self._state_ok(p), f"node {port} never reached cluster_state:ok")
            self._until(deadline, self._agreed, "the nodes never agreed on the slots")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the processes this object started, and only those."""
        processes, self.processes = self.processes, []
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def primary_of(self, key: str) -> int:
        """The port of the primary that holds ``key``'s slot."""
        client = RedisCluster(host="127.0.0.1", port=self.ports[0])
        try:
            node = client.get_node_from_key(key)
            return int(node.port)
        finally:
            client.close()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------
    @staticmethod
    def _until(deadline: float, check: object, failure: str) -> None:
        assert callable(check)
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"local Redis Cluster: {failure}")
            time.sleep(0.05)

    @staticmethod
    def _node(port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=2)

    def _ping(self, port: int) -> bool:
        client = self._node(port)
        try:
            return bool(client.ping())
        except (redis.exceptions.RedisError, OSError):
            return False
        finally:
            client.close()

    def _state_ok(self, port: int) -> bool:
        client = self._node(port)
        try:
            return bool(client.cluster("info")["cluster_state"] == "ok")
        except (redis.exceptions.RedisError, OSError):
            return False
        finally:
            client.close()

    def _agreed(self) -> bool:
        """Every node sees every node: a cluster client started now gets the whole slot map."""
        for port in self.ports:
            client = self._node(port)
            try:
                if len(client.cluster("nodes")) != self.primaries:
                    return False
            except (redis.exceptions.RedisError, OSError):
                return False
            finally:
                client.close()
        return True
