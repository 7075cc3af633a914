"""What a reading of the store's memory means: full or not, which warnings, which sizes, which policies."""

from __future__ import annotations

import pytest

from hub.capacity import Memory, Watermarks, eviction_problem, parse_size, size_text, warning

GB = 1024**3


def reading(share: float, limit: int = GB) -> Memory:
    return Memory(int(share * limit), limit)


def test_a_store_is_at_its_limit_only_with_a_limit_it_has_reached() -> None:
    assert Memory(GB, GB).at_limit and Memory(GB + 1, GB).at_limit
    assert not Memory(GB - 1, GB).at_limit
    assert not Memory(10 * GB, 0).at_limit and Memory(10 * GB, 0).share is None


def test_crossing_80_and_95_percent_warns_once_each() -> None:
    marks = Watermarks()
    seen = [marks.observe(reading(share)) for share in (0.5, 0.81, 0.85, 0.9, 0.96, 0.99, 0.97)]
    assert seen == [None, 0.80, None, None, 0.95, None, None]


def test_a_jump_past_both_marks_is_one_warning_for_the_higher() -> None:
    marks = Watermarks()
    assert marks.observe(reading(0.97)) == 0.95
    assert marks.observe(reading(0.97)) is None
    assert marks.observe(reading(0.90)) is None  # 80 % was crossed on the way: no late warning for it


def test_a_mark_warns_again_after_usage_fell_back_below_it() -> None:
    marks = Watermarks()
    assert marks.observe(reading(0.82)) == 0.80
    assert marks.observe(reading(0.60)) is None
    assert marks.observe(reading(0.82)) == 0.80


def test_hovering_at_a_mark_does_not_warn_every_check() -> None:
    marks = Watermarks()
    seen = [marks.observe(reading(share)) for share in (0.801, 0.799, 0.801, 0.78, 0.802)]
    assert seen == [0.80, None, None, None, None]  # re-armed only a few points below the mark


def test_no_limit_means_no_warning() -> None:
    assert Watermarks().observe(Memory(100 * GB, 0)) is None


def test_the_warning_says_how_full_and_what_to_do() -> None:
    line = warning(0.80, Memory(int(0.83 * GB), GB))
    assert "83% full" in line and "over 80%" in line and "1.0 GiB" in line and "maxmemory" in line


def test_only_noeviction_is_accepted_and_the_refusal_says_why_and_how() -> None:
    assert eviction_problem("noeviction") is None
    for policy in ("allkeys-lru", "volatile-lru", "allkeys-random", "volatile-ttl", "allkeys-lfu"):
        problem = eviction_problem(policy)
        assert problem is not None and policy in problem
        assert "silently deletes stored objects" in problem
        assert "CONFIG SET maxmemory-policy noeviction" in problem and "redis.conf" in problem


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("1k", 1000), ("1kb", 1024), ("512mb", 512 * 1024**2), ("2gb", 2 * GB), ("3G", 3 * 10**9)],
)
def test_sizes_are_read_as_redis_reads_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "0mb", "-1gb", "2 terabytes", "1.5gb", "gb"])
def test_what_is_no_size_is_refused_with_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="512mb or 2gb"):
        parse_size(text)


def test_sizes_are_said_in_binary_units() -> None:
    assert [size_text(n) for n in (900, 1536, 512 * 1024**2, 2 * GB, 300 * GB)] == [
        "900 B",
        "1.5 KiB",
        "512 MiB",
        "2.0 GiB",
        "300 GiB",
    ]
