"""The zstd dictionaries that stored objects are compressed with (:mod:`hub.store.entries`).

A dictionary is fixed once objects are stored with it: every compressed
object names its dictionary's id, and that dictionary must stay with the hub
for as long as any store may hold such an object. A better dictionary is
added under a new id and made :data:`CURRENT`; the old ones stay, for reading.

``stix-<id>.zdict`` was trained by :func:`train` (below) on the public STIX 2.1
objects the hub carries for its demo and its tests, their licences beside
them: the OASIS examples, the stix2 library's test objects, the TLP 2.0
markings, a CACAO playbook and the demo's bundles (an ATT&CK excerpt and the
national protocol). Not the whole ATT&CK release in ``tests/data/stix/attack``:
its thousand relationships and long prose filled a dictionary with text no
indicator shares, and left a 470-byte indicator 60 bytes larger::

    python -m bench.dictionary hub/store/stix-43480001.zdict 0x43480001 \\
        tests/data/stix/oasis-examples tests/data/stix/python-stix2-objects tests/data/stix/tlp2 \\
        tests/data/cacao hub/demo_data
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

import orjson
import zstandard

from hub.versions import version_of

CURRENT: Final = 0x43480001
"""The id of the dictionary new objects are compressed with."""

SIZE: Final = 32768
"""Bytes of a trained dictionary: a 470-byte indicator took 166 bytes; 168 with half of it, 182 with twice."""

_HERE = Path(__file__).resolve().parent


@functools.cache
def by_id(dict_id: int) -> zstandard.ZstdCompressionDict:
    """The dictionary with this id, as the hub ships it."""
    if dict_id == 0:
        raise LookupError("a stored object is not compressed with any dictionary of the hub: its entry is damaged")
    path = _HERE / f"stix-{dict_id:08x}.zdict"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LookupError(
            f"a stored object is compressed with dictionary {dict_id:#x}, which this version of the hub does not "
            "have: a newer hub wrote it"
        ) from None
    return zstandard.ZstdCompressionDict(data)


@functools.cache
def current(level: int) -> zstandard.ZstdCompressionDict:
    """The current dictionary, prepared for compressing at ``level``."""
    prepared = zstandard.ZstdCompressionDict(by_id(CURRENT).as_bytes())
    prepared.precompute_compress(level=level)
    return prepared


PER_TYPE: Final = 50
"""Samples of one STIX type at most: every type's structure counts, not whichever type a source has most of."""


def samples(folders: list[Path]) -> list[bytes]:
    """The objects of the STIX files under ``folders`` (bundles or single objects), as :mod:`hub.store.entries`
    compresses them: ``<id> <version>\\n<JSON>``, the JSON as the hub serialises it (orjson, compact).

    Folder by folder in the order given, and at most :data:`PER_TYPE` of one type: the first folders set the
    tone of the types they have.
    """
    by_type: dict[str, list[bytes]] = {}
    for path in (p for folder in folders for p in sorted(folder.rglob("*.json"))):
        try:
            doc: Any = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        if not isinstance(doc, dict):
            continue
        objects = doc.get("objects") if doc.get("type") == "bundle" else [doc]
        for obj in objects if isinstance(objects, list) else ():
            if isinstance(obj, dict) and isinstance(obj.get("id"), str) and isinstance(obj.get("type"), str):
                text = b"%s %s\n%s" % (obj["id"].encode(), version_of(obj).encode(), orjson.dumps(obj))
                by_type.setdefault(obj["type"], []).append(text)
    return [text for texts in by_type.values() for text in texts[:PER_TYPE]]


def train(folders: list[Path], dict_id: int) -> bytes:
    """A dictionary of :data:`SIZE` bytes trained on the objects under ``folders`` (one thread: repeatable)."""
    texts: list[bytes | bytearray | memoryview] = list(samples(folders))
    return zstandard.train_dictionary(SIZE, texts, dict_id=dict_id, threads=0).as_bytes()
