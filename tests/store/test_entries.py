"""Stream entries: objects compressed with the shipped dictionary, and entries of the older format read as they are."""

from __future__ import annotations

import orjson
import pytest
import zstandard

from hub.store import dictionary, entries
from hub.tlp import TLP
from tests.stixgen import indicator


def test_an_object_comes_back_byte_for_byte_with_its_id_and_version() -> None:
    obj = {**indicator(), "description": 'Ünïcode, quotes " and a line\nbreak'}
    raw = orjson.dumps(obj)
    assert entries.unpack(entries.pack(obj["id"], obj["modified"], raw)) == (obj["id"], obj["modified"], raw)
    # An object with neither `modified` nor `created` (an SCO) has no version
    sco = orjson.dumps(
        {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "1.2.3.4"}
    )
    assert entries.unpack(entries.pack("ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "", sco))[1:] == ("", sco)


def test_the_dictionary_takes_a_small_indicator_to_under_half() -> None:
    objects = [indicator() for _ in range(50)]
    raw = [orjson.dumps(o) for o in objects]
    packed = [entries.pack(o["id"], o["modified"], r) for o, r in zip(objects, raw, strict=True)]
    plain = zstandard.ZstdCompressor(level=entries.LEVEL)  # the same level, no dictionary
    without = sum(len(plain.compress(r)) for r in raw)
    assert sum(map(len, packed)) < 0.5 * sum(map(len, raw))
    assert sum(map(len, packed)) < 0.8 * without
    assert all(zstandard.get_frame_parameters(p).dict_id == dictionary.CURRENT for p in packed)


def test_an_object_packed_with_a_dictionary_the_hub_lacks_says_so() -> None:
    samples: list[bytes | bytearray | memoryview] = [
        b'{"type":"note","id":"note--%d","content":"seen at site %d"}' % (i, i * 7) for i in range(2000)
    ]
    other = zstandard.train_dictionary(2048, samples, dict_id=0x43489999, threads=0)
    frame = zstandard.ZstdCompressor(dict_data=other).compress(b'{"type":"note","id":"note--1"}')
    with pytest.raises(LookupError, match="dictionary 0x43489999, which this version of the hub does not have"):
        entries.unpack(frame)


def test_entries_of_both_formats_become_the_same_event() -> None:
    obj = indicator(TLP.AMBER)
    raw = orjson.dumps(obj)
    new = {b"src": b"cidge", b"tlp": b"2", b"z": entries.pack(obj["id"], obj["modified"], raw)}
    old = {b"src": b"cidge", b"tlp": b"2", b"typ": b"indicator", b"sid": obj["id"].encode()}
    old |= {b"ver": obj["modified"].encode(), b"obj": raw}
    a, b = entries.event("1-0", "committee", new), entries.event("1-0", "committee", old)
    assert a == b
    assert (a.type, a.stix_id, a.version, a.raw, a.tlp, a.person) == (
        "indicator",
        obj["id"],
        obj["modified"],
        raw,
        2,
        "",
    )
    person = entries.event("1-0", "committee", {**new, b"per": b"p-1", b"pnm": b"Ana"})
    assert (person.person, person.person_name) == ("p-1", "Ana")
