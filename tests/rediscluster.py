"""A real Redis Cluster for tests: three primaries (optionally with replicas), each a ``redis-server`` 7 on loopback.

Each node gets two free ports (clients, cluster bus) and a folder of its own;
``redis-cli --cluster create`` assigns the 16384 slots, introduces the nodes
and makes the last ``primaries × replicas`` of them replicas. Only the
processes started here are ever signalled, by their pids: :meth:`LocalCluster.kill`
SIGKILLs one, to make its replica take over; :meth:`LocalCluster.pause` stops one
(SIGSTOP) so that nothing its primary writes can reach it until it is resumed.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis
from redis.crc import key_slot

from tests.timing import LONG_WAIT, STARTUP, WAIT, seconds

T = TypeVar("T")
MINIMUM = (7, 0)  # sharded pub/sub (SPUBLISH, SSUBSCRIBE)


def _version(exe: str) -> tuple[int, int]:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=WAIT).stdout
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
    """redis-server processes in cluster mode under ``directory``; :meth:`start`, :meth:`stop`.

    ``primaries`` primaries with ``replicas`` replicas each; a primary is
    declared failed after ``node_timeout_ms`` without an answer, and one of
    its replicas is promoted a moment later.
    """

    def __init__(self, directory: Path, primaries: int = 3, replicas: int = 0, node_timeout_ms: int = 3000) -> None:
        self.directory = directory
        self.primaries = primaries
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.process_of: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def nodes(self) -> int:
        return self.primaries * (1 + self.replicas)

    @property
    def url(self) -> str:
        """The URL of one node: a cluster client finds the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = STARTUP) -> LocalCluster:
        found = binaries()
        assert found is not None, unusable_reason()
        server, cli = found
        ports = _free_ports(2 * self.nodes)
        self.ports = ports[: self.nodes]
        try:
            for port, bus in zip(self.ports, ports[self.nodes :], strict=True):
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
                    "--cluster-node-timeout", str(self.node_timeout_ms),
                    "--dir", str(folder),
                    "--save", "",
                    "--appendonly", "no",
                    "--repl-diskless-sync-delay", "0",  # a replica's first sync starts at once, not after 5 s
                    # A replica stays with its primary: a test that pauses a shard's replicas must not see the
                    # cluster lend that primary another shard's replica (Redis does, to an orphaned primary).
                    "--cluster-allow-replica-migration", "no",
                    "--daemonize", "no",
                    "--logfile", str(folder / "redis.log"),
                ]  # fmt: skip
                process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                self.processes.append(process)
                self.process_of[port] = process
            deadline = time.monotonic() + timeout
            for port in self.ports:
                self._until(deadline, functools.partial(self._ping, port), f"node {port} did not answer")
            nodes = [f"127.0.0.1:{port}" for port in self.ports]
            subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            for port in self.ports:
                self._until(
                    deadline, functools.partial(self._state_ok, port), f"node {port} never reached cluster_state:ok"
                )
            self._until(deadline, self._agreed, "the nodes never agreed on the slots")
            self._until(deadline, self._replicating, "the replicas never caught up with their primaries")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = WAIT) -> None:
        """Stop the processes this object started, and only those."""
        processes, self.processes = self.processes, []
        self.process_of = {}
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a paused node would not act on SIGTERM until resumed
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def alive(self) -> list[int]:
        """The ports of the nodes still running."""
        return [port for port, process in self.process_of.items() if process.poll() is None]

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port`` (one this object started, by its pid): no goodbye, no final write."""
        process = self.process_of[port]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    def pause(self, port: int) -> None:
        """SIGSTOP the node on ``port``: it keeps its sockets, but answers nothing and applies nothing until resumed."""
        os.kill(self.process_of[port].pid, signal.SIGSTOP)

    def resume(self, port: int) -> None:
        """SIGCONT the node on ``port`` after :meth:`pause`."""
        os.kill(self.process_of[port].pid, signal.SIGCONT)

    def wait_replicated(self, port: int, timeout: float = LONG_WAIT) -> None:
        """Wait until each replica of the primary on ``port`` has applied everything the primary had written so far."""
        written = self._ask(port, lambda client: int(client.info("replication")["master_repl_offset"]))
        assert written is not None, f"node {port} does not answer"

        def applied(client: redis.Redis) -> bool:
            return int(client.info("replication").get("slave_repl_offset", -1)) >= written

        def caught_up() -> bool:
            replicas = self.replicas_of(port)
            return len(replicas) == self.replicas and all(self._ask(replica, applied) for replica in replicas)

        self._until(time.monotonic() + timeout, caught_up, f"the replicas of {port} never caught up with it")

    def replication(self, port: int) -> dict[str, object] | None:
        """The node's ``INFO replication``: its role and, on a primary, the replicas connected and their offsets."""
        return self._ask(port, lambda client: dict(client.info("replication")))

    def primary_of(self, key: str) -> int:
        """The port of the primary that holds ``key``'s slot, as the first live node answering sees it."""
        slot = key_slot(key.encode())
        for port in self.alive():
            owner = self._ask(port, lambda client: self._owner(client, slot))
            if owner is not None:
                return owner
        raise RuntimeError(f"local Redis Cluster: no live node knows who holds slot {slot}")

    def replicas_of(self, port: int) -> list[int]:
        """The ports of the live replicas that follow the primary on ``port``."""

        def follows(client: redis.Redis) -> bool:
            info = client.info("replication")
            return bool(info.get("role") == "slave" and int(info.get("master_port", 0)) == port)

        return [other for other in self.alive() if self._ask(other, follows)]

    def wait_for_new_primary(self, key: str, failed: int, timeout: float = LONG_WAIT) -> int:
        """Wait until a live primary, agreed on by every live node, holds ``key``'s slot instead of ``failed``."""
        slot = key_slot(key.encode())
        found: list[int] = []

        def promoted() -> bool:
            owners = {self._ask(port, lambda client: self._owner(client, slot)) for port in self.alive()}
            owner = owners.pop() if len(owners) == 1 else None
            if owner is None or owner == failed:
                return False
            found[:] = [owner]
            return self._state_ok(owner)

        self._until(time.monotonic() + timeout, promoted, f"no replica took over the slot of {key} from {failed}")
        return found[0]

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------
    @staticmethod
    def _until(deadline: float, check: Callable[[], bool], failure: str) -> None:
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"local Redis Cluster: {failure}")
            time.sleep(0.05)

    @staticmethod
    def _node(port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=seconds(1), socket_timeout=seconds(2))

    def _ask(self, port: int, question: Callable[[redis.Redis], T]) -> T | None:
        """``question`` put to the node on ``port``; None if the node does not answer."""
        client = self._node(port)
        try:
            return question(client)
        except (redis.exceptions.RedisError, OSError):
            return None
        finally:
            client.close()

    def _ping(self, port: int) -> bool:
        return bool(self._ask(port, lambda client: client.ping()))

    def _state_ok(self, port: int) -> bool:
        return self._ask(port, lambda client: client.cluster("info")["cluster_state"] == "ok") is True

    def _agreed(self) -> bool:
        """Every node sees every node: a cluster client started now gets the whole slot map."""
        return all(self._ask(port, lambda client: len(client.cluster("nodes"))) == self.nodes for port in self.ports)

    def _replicating(self) -> bool:
        """Every replica has finished its first sync: a write can be confirmed by it from now on."""

        def synced(client: redis.Redis) -> bool:
            info = client.info("replication")
            return bool(info.get("role") != "slave" or info.get("master_link_status") == "up")

        return all(self._ask(port, synced) for port in self.ports)

    @staticmethod
    def _owner(client: redis.Redis, slot: int) -> int | None:
        """The port of the node that ``client``'s node says holds ``slot``; None if it knows of none."""
        for first, last, primary, *_ in client.cluster("slots"):
            if int(first) <= slot <= int(last):
                return int(primary[1])
        return None
