"""Summarise py-spy collapsed stacks (``py-spy record --format raw``): where the time goes.

``python -m bench.profile_summary FILE... [--top 25] [--focus TEXT]``

For each file: the share of samples per thread, then the functions with the
most samples *inclusive* (on the stack) and *self* (at the top of the stack),
as percentages of all samples, and the same grouped by package (``aiohttp``,
``redis``, ``hub.stream``, ``stix2``…). ``--focus`` keeps only the stacks that
pass through a frame containing TEXT (e.g. ``post_objects``).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if head and count.isdigit():
            stacks.append((head.split(";"), int(count)))
    return stacks


_STDLIB_DIRS = frozenset({"asyncio", "concurrent", "json", "http", "email", "urllib", "logging", "importlib"})

# Leaf frames where a thread waits rather than works: the event loop in epoll, idle pool workers.
IDLE_LEAVES = frozenset(
    {
        "EpollSelector.select (selectors.py)",
        "_worker (thread.py)",
        "Condition.wait (threading.py)",
        "Thread._wait_for_tstate_lock (threading.py)",
        "SimpleQueue.get (queue.py)",
    }
)


def package(file: str) -> str:
    """py-spy's short paths: ``aiohttp/web_ws.py`` → ``aiohttp``; ``hub/stream/fanout.py`` → ``hub.stream``."""
    parts = Path(file).parts
    if len(parts) <= 1 or parts[0] in _STDLIB_DIRS or parts[0].startswith("<"):
        return "stdlib:" + (parts[0] if len(parts) > 1 else Path(file).stem)
    if parts[0] == "hub":
        return ".".join(parts[:-1])
    return parts[0]


def label(frame: str) -> tuple[str, str]:
    """(function label, package) of one collapsed frame."""
    match = _FRAME.match(frame)
    if not match:
        return frame, frame
    file = match.group("file")
    return f"{match.group('func')} ({Path(file).name})", package(file)


def summarise(path: Path, top: int, focus: str | None) -> str:
    stacks = parse(path)
    if focus:
        stacks = [(s, n) for s, n in stacks if any(focus in f for f in s)]
    samples = sum(n for _, n in stacks)
    if not samples:
        return f"{path}: no samples"
    idle = 0
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    pkg_incl: Counter[str] = Counter()
    pkg_self: Counter[str] = Counter()
    for frames, n in stacks:
        thread = frames[0].split(": ", 1)[-1] if frames and frames[0].startswith("thread") else ""
        frames = [f for f in frames if not f.startswith(("thread", "process"))]
        if not frames:
            continue
        labels = [label(f) for f in frames]
        if labels[-1][0] in IDLE_LEAVES:
            idle += n
            continue
        if thread:
            # Pool threads are numbered as they start (asyncio_0, asyncio_1…): one line for them all.
            threads[thread.rstrip("0123456789").rstrip("_") or thread] += n
        for name in {name for name, _ in labels}:
            inclusive[name] += n
        for pkg in {pkg for _, pkg in labels}:
            pkg_incl[pkg] += n
        own[labels[-1][0]] += n
        pkg_self[labels[-1][1]] += n

    total = samples - idle

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    out = [f"== {path.name}: {samples} samples" + (f" through {focus!r}" if focus else "")]
    out.append(f"{100 * idle / samples:.1f}% idle (epoll, idle pool threads); the shares below are of the busy rest")
    if threads:
        out.append("-- threads")
        out += [f"{pct(n)}  {name}" for name, n in threads.most_common(6)]
    out.append("-- self time by package")
    out += [f"{pct(n)}  {name}" for name, n in pkg_self.most_common(top)]
    out.append("-- inclusive by package")
    out += [f"{pct(n)}  {name}" for name, n in pkg_incl.most_common(top)]
    out.append("-- self time by function")
    out += [f"{pct(n)}  {name}" for name, n in own.most_common(top)]
    out.append("-- inclusive by function")
    out += [f"{pct(n)}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", help="only stacks through a frame containing this text")
    args = parser.parse_args(argv)
    for path in args.files:
        print(summarise(path, args.top, args.focus))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
