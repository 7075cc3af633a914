"""Import STIX bundles from files and folders into a channel, streaming.

How this works. Paths are expanded into files (folders recursively: every
``*.json`` and ``*.json.gz``). Each file is parsed incrementally with ijson
(its C backend, yajl2_c, when installed): the objects of a bundle's
``objects`` array come out one at a time, are serialised once with orjson and
gathered into batches of ``batch`` objects (or about 4 MB, whichever comes
first), and each batch is POSTed as a bundle through :class:`HubClient`.
Only one batch is ever held, so a 40 MB bundle costs a few megabytes, not
several copies of itself.

A file that is one object rather than a bundle is small by nature and read
whole. What the hub answered is added up per object, with the file and the
object's position in it for each rejection.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import ijson  # type: ignore[import-untyped]
import orjson

from connectors.client import HubClient

MAX_BATCH_BYTES = 4 * 1024 * 1024  # well under the hub's default 16 MB body limit
_SUFFIXES = (".json", ".json.gz")


class ImportFileError(Exception):
    """A file that is not a STIX bundle or object (or cannot be read)."""


@dataclass
class ImportSummary:
    """What the hub said of every object imported, and the files that could not be read.

    Accepted objects and duplicates are counted, not kept: an import of a
    million objects must not end holding a million answers.
    """

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """The hub's rejections, each with the ``file`` and the ``index`` of the object in it."""
    files: int = 0
    failed_files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + len(self.rejected)

    def add(self, path: Path, answer: dict[str, Any], offset: int) -> None:
        self.accepted += len(answer.get("accepted", []))
        self.duplicates += len(answer.get("duplicates", []))
        self.rejected += [{**r, "index": r["index"] + offset, "file": str(path)} for r in answer.get("rejected", [])]


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """The files to import: files as given, folders searched recursively, in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES))
        else:
            found.append(path)
    return found


@contextmanager
def _open(path: Path) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """The file's decompressed bytes, and the raw file (whose position tells the progress)."""
    with path.open("rb") as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield cast(IO[bytes], unzipped), raw
        else:
            yield raw, raw


def _top_level_type(path: Path) -> Any:
    """The ``type`` of the file's top-level object, reading no further than needed."""
    with _open(path) as (stream, _):
        try:
            return next(iter(ijson.items(stream, "type")), None)
        except ijson.JSONError as exc:
            raise ImportFileError(f"not JSON: {exc}") from None


def iter_objects(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[Any]:
    """The STIX objects of a file, one at a time: a bundle's objects, or the file's one object.

    ``on_bytes`` is told how many bytes of the file (as stored, compressed or
    not) were read since its last call.
    """
    kind = _top_level_type(path)
    if not isinstance(kind, str):
        raise ImportFileError("not a STIX bundle or object: no string 'type' at the top level")
    with _open(path) as (stream, raw):
        if kind != "bundle":
            obj = _load_whole(stream)
            if on_bytes is not None:
                on_bytes(raw.tell())
            yield obj
            return
        seen = 0
        try:
            for obj in ijson.items(stream, "objects.item", use_float=True):
                if on_bytes is not None and raw.tell() != seen:
                    on_bytes(raw.tell() - seen)
                    seen = raw.tell()
                yield obj
        except ijson.JSONError as exc:
            raise ImportFileError(f"not JSON: {exc}") from None
        if on_bytes is not None:
            on_bytes(raw.tell() - seen)


def _load_whole(stream: IO[bytes]) -> Any:
    try:
        return orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise ImportFileError(f"not JSON: {exc}") from None


def batches(objects: Iterable[Any], size: int, max_bytes: int = MAX_BATCH_BYTES) -> Iterator[tuple[int, bytes]]:
    """``(count, bundle body)`` for successive batches of at most ``size`` objects and about ``max_bytes``.

    Each object is serialised once, straight into the batch's buffer.
    """
    buffer = bytearray()
    count = 0
    for obj in objects:
        encoded = orjson.dumps(obj)
        if count and (count >= size or len(buffer) + len(encoded) > max_bytes):
            yield count, _close(buffer)
            buffer, count = bytearray(), 0
        buffer += _open_bundle() if not count else b","
        buffer += encoded
        count += 1
    if count:
        yield count, _close(buffer)


def _open_bundle() -> bytes:
    return b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":['


def _close(buffer: bytearray) -> bytes:
    buffer += b"]}"
    return bytes(buffer)


async def import_paths(
    client: HubClient,
    channel: str,
    paths: Sequence[Path],
    *,
    batch: int = 500,
    on_bytes: Callable[[int], None] | None = None,
    summary: ImportSummary | None = None,
) -> ImportSummary:
    """Import every file of ``paths`` into ``channel``; an unreadable file is reported and skipped.

    A rejection's ``index`` is the object's position in its file, and its
    ``file`` the file's path. HubClientError (hub unreachable, token
    refused, …) stops the import: what was sent before it is stored. Answers
    are added to ``summary`` when given, so a caller stopped half-way (Ctrl-C)
    can say how far it got; ``summary.files`` counts the files finished.
    """
    summary = summary if summary is not None else ImportSummary()
    for path in paths:
        done = 0
        try:
            for count, body in batches(iter_objects(path, on_bytes), batch):
                summary.add(path, await client.post(channel, body), offset=done)
                done += count
        except (ImportFileError, OSError, EOFError) as exc:
            summary.failed_files.append((str(path), str(exc) or type(exc).__name__))
        summary.files += 1
    return summary
