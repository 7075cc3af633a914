"""Archiving: a channel's versions added before a time, written to a file, then removed from the store.

How this works. :func:`write` pages through the channel's log, oldest first,
and streams every version added before the bound into one gzip'd STIX
bundle, each object as the bytes stored at ingest. It writes to
``FILE.partial`` (mode 0600, locked: one writer at a time) and links it as
``FILE`` only once the bytes re-read from disk match the SHA-256 computed while
writing and hold as many objects as were written: a file at ``FILE`` is always
whole, and never replaced.

:func:`remove` then deletes exactly the versions the file holds, a page of the
log at a time, each object's versions in one atomic step
(:meth:`hub.store.Store.delete_versions`), so TAXII, the events API, replay and
every index agree at every moment. A run killed at any point loses nothing:
before the rename nothing is deleted; after it, what is not yet deleted is
still served and is in the file. A rerun finds the file, verifies it again,
checks that every version still stored before the bound is in it, and
finishes the deletion.
"""

from __future__ import annotations

import asyncio
import fcntl
import gzip
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson  # type: ignore[import-untyped]

from hub.errors import HubError
from hub.events import Event, id_key
from hub.store import Store
from hub.versions import version_of

Version = tuple[str, str]  # (STIX id, version), what identifies a stored version across a restore
Progress = Callable[[int], object]


class ArchiveError(HubError):
    """An archive file that cannot be written, read or trusted."""


@dataclass(frozen=True, slots=True)
class Verified:
    """An archive file read back from disk: its objects' versions, their count, the file's SHA-256."""

    versions: frozenset[Version]
    count: int
    sha256: str


def partial_path(out: Path) -> Path:
    """Where an archive is written before it is verified and renamed to ``out``."""
    return out.with_name(out.name + ".partial")


def before(event: Event, bound_ms: int) -> bool:
    """Whether ``event`` was added before the millisecond ``bound_ms``."""
    return id_key(event.id) < (bound_ms, 0)


async def _pages(store: Store, channel: str, bound_ms: int, batch: int) -> AsyncIterator[list[Event]]:
    """The channel's events added before ``bound_ms``, oldest first, ``batch`` at a time."""
    after = "0-0"
    while True:
        events = await store.read(channel, after, batch)
        kept = [e for e in events if before(e, bound_ms)]
        if kept:
            yield kept
        if len(kept) < len(events) or len(events) < batch:
            return
        after = events[-1].id


async def write(store: Store, channel: str, bound_ms: int, out: Path, batch: int, progress: Progress) -> Verified:
    """Write every version of ``channel`` added before ``bound_ms`` to ``out``, verified; nothing is deleted."""
    partial = partial_path(out)
    written: set[Version] = set()
    count = 0
    digest = hashlib.sha256()
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # one writer per file; the lock goes with its process, however that ends
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArchiveError(f"another archive is writing {out}; nothing was removed") from None
        os.ftruncate(fd, 0)  # what a run that stopped left
        os.fchmod(fd, 0o600)  # a leftover partial file keeps its mode otherwise
        with os.fdopen(fd, "wb") as raw:  # the lock is held until the file is verified and linked
            hashing = _Hashing(raw, digest)
            with gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) as zipped:
                zipped.write(b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":[')
                async for events in _pages(store, channel, bound_ms, batch):
                    for event in events:
                        zipped.write((b"," if count else b"") + event.raw)
                        written.add((event.stix_id, event.version))
                        count += 1
                    progress(len(events))
                zipped.write(b"]}")
            raw.flush()
            os.fsync(raw.fileno())
            verified = await asyncio.to_thread(verify, partial)  # a large file: not on the event loop
            if verified.sha256 != digest.hexdigest() or verified.count != count or verified.versions != written:
                raise ArchiveError(f"{partial} does not read back as written: is the disk failing? Nothing was removed")
            try:  # a link, not a rename: an archive already at ``out`` is never replaced
                os.link(partial, out)
            except FileExistsError:
                raise ArchiveError(f"{out} appeared while it was written; nothing was removed: run again") from None
            os.unlink(partial)
    except OSError as exc:
        raise ArchiveError(f"cannot write {out}: {exc.strerror}") from None
    _sync_folder(out.parent)
    return verified


def drop_partial(out: Path) -> None:
    """Remove the ``FILE.partial`` a run stopped between linking ``out`` and unlinking it left, unless being written."""
    try:
        fd = os.open(partial_path(out), os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(partial_path(out))
    except BlockingIOError:
        pass  # another run is writing it: it is that run's to remove
    finally:
        os.close(fd)


def verify(path: Path) -> Verified:
    """Read an archive file back: the versions of its objects, their count and the file's SHA-256."""
    digest = hashlib.sha256()
    versions: set[Version] = set()
    count = 0
    try:
        with open(path, "rb") as raw:
            hashing = _Hashing(raw, digest)
            with gzip.GzipFile(fileobj=hashing, mode="rb") as zipped:
                for obj in ijson.items(zipped, "objects.item", use_float=True):
                    versions.add((obj["id"], version_of(obj)))
                    count += 1
            while hashing.read(1 << 20):  # the hash covers the whole file, whatever gzip left unread
                pass
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (EOFError, ijson.JSONError, KeyError, TypeError) as exc:
        raise ArchiveError(f"{path} is not a whole archive ({exc}): remove it and archive again") from None
    return Verified(frozenset(versions), count, digest.hexdigest())


async def missing_from(store: Store, channel: str, bound_ms: int, archived: frozenset[Version], batch: int) -> int:
    """How many versions of ``channel`` stored before ``bound_ms`` are not in ``archived``."""
    missing = 0
    async for events in _pages(store, channel, bound_ms, batch):
        missing += sum(1 for e in events if (e.stix_id, e.version) not in archived)
    return missing


async def remove(
    store: Store, channel: str, bound_ms: int, archived: frozenset[Version], batch: int, progress: Progress
) -> int:
    """Delete the versions of ``channel`` added before ``bound_ms`` that ``archived`` holds; how many were deleted.

    A page of at most ``batch`` events at a time; each object's versions of a
    page go in one atomic step.
    """
    removed = 0
    after = "0-0"
    while True:
        events = await store.read(channel, after, batch)
        due = [e for e in events if before(e, bound_ms)]
        by_object: dict[str, list[Event]] = {}
        for event in due:
            if (event.stix_id, event.version) in archived:
                by_object.setdefault(event.stix_id, []).append(event)
        if by_object:  # marked before removed (a crash between leaves a mark, not a silent gap):
            # a client resuming from before it is told of the gap, as after trimming
            await store.mark_trimmed(channel, max((e for v in by_object.values() for e in v), key=_position).id)
        for versions in by_object.values():
            removed += await store.delete_versions(channel, versions)
        progress(sum(len(v) for v in by_object.values()))
        if len(due) < len(events) or len(events) < batch:
            return removed
        after = events[-1].id


def _position(event: Event) -> tuple[int, int]:
    return id_key(event.id)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Hashing:
    """A file wrapper that hashes every byte written through it or read from it."""

    def __init__(self, inner: IO[bytes], digest: Any) -> None:
        self.inner = inner
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.inner.write(data)

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.digest.update(data)
        return data

    def flush(self) -> None:
        self.inner.flush()
