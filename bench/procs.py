"""The processes a benchmark run starts (hub, medallion, watcher workers) and what /proc says of them.

Every process is started here, remembered, and ended by its own pid when the
run ends, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far; 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy (not idle, not waiting on I/O) since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of process ``pid`` in MB (10^6 bytes); zeros if it is gone."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) * 1024 / 1e6
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Processes:
    """Everything a run started, stopped in reverse order by :meth:`stop_all`."""

    workdir: Path
    started: list[Started] = field(default_factory=list)

    def spawn(self, name: str, args: Sequence[str], *, pipe: bool = False) -> Started:
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(args),
                cwd=ROOT,
                stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipe else out,
                stderr=out,
            )
        started = Started(name, process, log)
        self.started.append(started)
        return started

    def stop(self, started: Started, timeout: float = 10.0) -> None:
        process = started.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if started in self.started:
            self.started.remove(started)

    def stop_all(self) -> None:
        for started in reversed(list(self.started)):
            self.stop(started)


async def wait_http(url: str, timeout: float, headers: dict[str, str] | None = None, **kw: Any) -> None:
    """Poll ``url`` until it answers 200, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = ""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url, headers=headers, **kw) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except aiohttp.ClientError as exc:
                last = str(exc)
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s ({last})")


def start_hub(
    procs: Processes, index: int, redis_url: str, config: Path, launcher: Path | None = None, *, cluster: bool = False
) -> tuple[Started, str]:
    """``crisis-hub serve`` as its own process, on a free port; returns it and its base URL.

    ``launcher``: a Python script run instead of ``-m hub`` with the same arguments
    (for experiments: a hub with a patch applied at start, say).
    """
    port = free_port()
    entry = [str(launcher)] if launcher is not None else ["-m", "hub"]
    args = [
        sys.executable, *entry, "serve",
        "--config", str(config),
        "--redis-url", redis_url,
        "--host", "127.0.0.1",
        "--port", str(port),
        *(["--redis-cluster"] if cluster else []),
    ]  # fmt: skip
    return procs.spawn(f"hub{index}", args), f"http://127.0.0.1:{port}"


class WatcherWorker:
    """A ``python -m bench.watchers`` process, driven by JSON lines (see :mod:`bench.watchers`)."""

    def __init__(self, procs: Processes, index: int) -> None:
        self.started = procs.spawn(f"watchers{index}", [sys.executable, "-m", "bench.watchers"], pipe=True)

    @property
    def pid(self) -> int:
        return self.started.pid

    def _send(self, cmd: dict[str, Any]) -> None:
        stdin = self.started.process.stdin
        assert stdin is not None
        stdin.write(orjson.dumps(cmd) + b"\n")
        stdin.flush()

    def _answer(self) -> dict[str, Any]:
        stdout: IO[bytes] | None = self.started.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"watcher worker {self.pid} exited; see {self.started.log}")
        answer: dict[str, Any] = orjson.loads(line)
        return answer

    async def call(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send one command and wait (in a thread, so that several workers run at once) for its answer."""
        self._send(cmd)
        return await asyncio.to_thread(self._answer)
