"""A channel's stream entry: how an event is written to it and read back.

Pure: no I/O. An entry has the fields

* ``src`` — the stakeholder that sent the object; ``per`` and ``pnm`` — the id and
  name of the person who acted for it, only when one did;
* ``tlp`` — the event's TLP level, a digit (read by the append script too);
* ``z`` — the object: ``<stix id> <version>\\n<JSON>`` compressed with zstd and
  a dictionary trained on STIX (:mod:`hub.store.dictionary`).

Why compressed: Redis holds every stored object in memory, and small STIX
objects share most of their keys and many values, which a dictionary knows
before the first byte. A 470-byte indicator takes about 160 bytes. The id and
version lead the compressed text, so that a reader has them without decoding
the JSON, and the copies in the JSON cost the compressor only a reference back.
The type is the id's prefix (STIX ids are ``<type>--<UUID>``).

Entries written before objects were compressed carry ``typ sid ver obj``, the
object as plain JSON; they are read as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final

import zstandard

from hub.events import Event
from hub.store import dictionary
from hub.tlp import TLP

LEVEL: Final = 3
"""zstd's level (its default). On 470-byte indicators: 163 bytes in 4.4 µs; level 1, 166 in 3.7; 5, 171 in 9.3."""

# The compressor and decompressors hold zstd contexts, which are not for several threads at once: the store
# packs and unpacks on the event loop only.


@functools.cache
def _compressor() -> zstandard.ZstdCompressor:
    return zstandard.ZstdCompressor(dict_data=dictionary.current(LEVEL), level=LEVEL, write_checksum=False)


@functools.cache
def _decompressor(dict_id: int) -> zstandard.ZstdDecompressor:
    return zstandard.ZstdDecompressor(dict_data=dictionary.by_id(dict_id))


@functools.cache
def _current_decompressor() -> zstandard.ZstdDecompressor:
    return _decompressor(dictionary.CURRENT)


_TLPS: Final = {str(int(level)).encode(): level for level in TLP}
"""A ``tlp`` field's value → its level: a look-up, not an enum call per event read."""


def pack(stix_id: str, version: str, raw: bytes) -> bytes:
    """The ``z`` field of an object: its id, version and JSON, compressed."""
    return _compressor().compress(b"%s %s\n%s" % (stix_id.encode(), version.encode(), raw))


def unpack(packed: bytes) -> tuple[str, str, bytes]:
    """The id, version and JSON of a ``z`` field (:func:`pack`), whichever dictionary packed it."""
    try:
        text = _current_decompressor().decompress(packed)
    except zstandard.ZstdError:  # another dictionary's (the frame names it), or not a frame at all
        text = _decompressor(zstandard.get_frame_parameters(packed).dict_id).decompress(packed)
    head, _, raw = text.partition(b"\n")
    stix_id, _, version = head.decode().partition(" ")
    return stix_id, version, raw


def event(event_id: str, channel: str, fields: Mapping[bytes, bytes]) -> Event:
    """The event a stream entry holds, in either format (see above)."""
    packed = fields.get(b"z")
    if packed is not None:
        stix_id, version, raw = unpack(packed)
        stix_type = stix_id.partition("--")[0]
    else:
        stix_type, stix_id, version, raw = (
            fields[b"typ"].decode(),
            fields[b"sid"].decode(),
            fields[b"ver"].decode(),
            fields[b"obj"],
        )
    person = fields.get(b"per")
    return Event(
        id=event_id,
        channel=channel,
        source=fields[b"src"].decode(),
        tlp=_TLPS[fields[b"tlp"]],
        type=stix_type,
        stix_id=stix_id,
        version=version,
        raw=raw,
        person=person.decode() if person is not None else "",
        person_name=fields[b"pnm"].decode() if person is not None else "",
    )
