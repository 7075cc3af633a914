"""hub.stix.fast.patterns: the simple-pattern recogniser never vouches for what the STIX grammar rejects.

The reference is ``library_verdict``: the validator's MUST ``patterns`` and
``stix2-patterns``' ``run_validator`` (what stix2's Indicator calls), ANTLR and
all. Pure: no event loop.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hub.stix.fast import patterns
from hub.stix.fast.patterns import fast_verdict, library_verdict, pattern_accepted, recognise


def scaled(examples: int) -> int:
    """``examples`` times $STIX_FUZZ_SCALE (default 1): e.g. STIX_FUZZ_SCALE=50 for a long hunt."""
    return max(1, round(examples * float(os.environ.get("STIX_FUZZ_SCALE", "1"))))


SETTINGS = settings(max_examples=scaled(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCO_TYPES = [
    "ipv4-addr", "ipv6-addr", "domain-name", "url", "file", "email-addr", "email-message", "network-traffic",
    "process", "windows-registry-key", "x509-certificate", "user-account", "mac-addr", "software", "artifact",
    "directory", "autonomous-system", "mutex",
]  # fmt: skip
HEX = "0123456789abcdefABCDEF"


def quoted(text: str) -> str:
    """A STIX string literal for ``text``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def hex_string(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=HEX, min_size=length, max_size=length).map(quoted)


# --- the recogniser's subset, lexically valid (semantics may still fail) --------------

simple_types = st.sampled_from([*SCO_TYPES, "x-acme-widget", "x-foo", "abc", "x_foo", "ab", "x-"])
simple_names = st.sampled_from(
    ["value", "name", "hashes", "size", "src_ref", "x_custom", "resolves_to_refs", "extensions", "abc", "Value", "ab"]
)
simple_steps = st.lists(
    st.sampled_from([".'SHA-256'", ".MD5", ".'MD5'", ".value", ".'a b'", ".name", ".'SHA-1'", ".SHA256", ".hashes"]),
    max_size=2,
).map("".join)
simple_literals = st.one_of(
    st.text(max_size=12).map(quoted),
    st.sampled_from([32, 40, 64, 128, 31, 65]).flatmap(hex_string),
    st.sampled_from(["0", "-0", "+5", "5", "-12", "1.5", ".5", "-.5", "true", "false", "h'0a'", "h''", "b'AAAA'"]),
    st.sampled_from(["b'AA=='", "t'2016-01-01T00:00:00Z'", "t'2016-02-30T00:00:00.5Z'", "t'2016-01-01T00:00:60Z'"]),
)


@st.composite
def simple_comparisons(draw: st.DrawFn) -> str:
    operator = draw(st.sampled_from(["=", "==", "!=", "<>", "<", "<=", ">", ">=", " LIKE ", " MATCHES "]))
    space = draw(st.sampled_from([" ", "", "\t", "\n", "  "]))
    path = draw(simple_types) + ":" + draw(simple_names) + draw(simple_steps)
    return path + space + operator + space + draw(simple_literals)


@st.composite
def simple_patterns(draw: st.DrawFn) -> str:
    """Patterns in the subset the recogniser scans (see the hub.stix.fast.patterns docstring)."""
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        comparisons = draw(st.lists(simple_comparisons(), min_size=1, max_size=3))
        joiner = " " + draw(st.sampled_from(["AND", "OR"])) + " "
        observations.append("[" + draw(st.sampled_from(["", " "])) + joiner.join(comparisons) + "]")
    return (" " + draw(st.sampled_from(["AND", "OR", "FOLLOWEDBY"])) + " ").join(observations)


# --- anything near it: faults, qualifiers, comments, other whitespace ---------------------


def mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Usually one of ``good``, sometimes one of ``bad``."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good), st.sampled_from(bad))


object_types = mostly(
    [*SCO_TYPES, "x-acme-widget"],
    ["xy", "A", "a_b", "x--y", "-abc", "abc-", "AND", "true", "t", "1abc", "X-Acme", "x-" + "a" * 250, "_abc", "b"],
)
first_names = mostly(
    ["value", "name", "hashes", "size", "src_ref", "dst_port", "x_custom", "resolves_to_refs", "extensions"],
    ["ab", "Value", "AND", "IN", "true", "_x", "a-b", "'value'", "value2", "body_multipart", "key", "protocols"],
)
steps = st.lists(
    mostly(
        [".'SHA-256'", ".MD5", ".value", ".name", ".'SHA-1'"],
        [".'a b'", "[0]", "[*]", ".'x\\'y'", ".OR", ".a-b", ". name", ".SHA256", ".'sha256'", "[-1]", ".sections"],
    ),
    max_size=2,
).map("".join)
operators = mostly(
    ["=", "==", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "MATCHES"],
    ["NOT =", "NOT LIKE", "IN", "=>", "=<", "!", "===", "<<", "like", "EXISTS", "ISSUBSET", "NOT IN"],
)
literals: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=12).map(quoted),
    st.sampled_from([32, 40, 64, 128, 31, 33, 63, 65, 56, 96, 70]).flatmap(hex_string),
    st.sampled_from(["'unterminated", "'bad \\q escape'", "'a'b'", "''", "'\\\\'", "'\\''", "'x\n'", "'\\'"]),
    st.sampled_from(["0", "01", "-0", "+5", "5", "-12", "12345678901234567890123", "1.5", ".5", "-.5", "1.", "1e5"]),
    st.sampled_from(["+.5", "- 5", "--5", "true", "false", "True", "TRUE", "truex"]),
    st.sampled_from(["t'2016-01-01T00:00:00Z'", "t'2016-13-01T00:00:00Z'", "t'2016-02-30T00:00:00Z'"]),
    st.sampled_from(["t'2016-01-01T00:00:60Z'", "t'2016-01-01 00:00:00Z'", "t'2016-01-01T00:00:00.123Z'"]),
    st.sampled_from(["t'2016-01-01T00:00:00'", "T'2016-01-01T00:00:00Z'"]),
    st.sampled_from(["h'0a'", "h'0'", "h'zz'", "h''", "h'0A0b'", "H'0a'", "b'AAAA'", "b'AAA='", "b'AA=='", "b'A==='"]),
    st.sampled_from(["b''", "b'AAAAA'", "b'AA'", "('a', 'b')", "()", "(1, 2)"]),
)
spaces = mostly([" ", " ", ""], ["  ", "\t", "\n", "\x0b", "\xa0", "\r\n", " /*c*/ ", "\u2000", " // x\n"])
qualifiers = mostly(
    [""],
    [" WITHIN 5 SECONDS", " REPEATS 2 TIMES", " START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'"],
)


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    path = draw(object_types) + ":" + draw(first_names) + draw(steps)
    return path + draw(spaces) + draw(operators) + draw(spaces) + draw(literals)


@st.composite
def observations(draw: st.DrawFn) -> str:
    found = draw(st.lists(comparisons(), min_size=1, max_size=3))
    joined = found[0]
    for comparison in found[1:]:
        joined += draw(spaces) + draw(mostly(["AND", "OR"], ["and", "FOLLOWEDBY", "", "AND AND"])) + draw(spaces)
        joined += comparison
    return "[" + draw(spaces) + joined + draw(spaces) + "]" + draw(qualifiers)


@st.composite
def any_patterns(draw: st.DrawFn) -> str:
    """Patterns near the simple forms, often subtly invalid (bad operators, quoting, paths, types …)."""
    found = draw(st.lists(observations(), min_size=1, max_size=3))
    text = found[0]
    for observation in found[1:]:
        text += draw(spaces) + draw(mostly(["AND", "OR", "FOLLOWEDBY"], ["", "or"])) + draw(spaces) + observation
    if draw(st.integers(0, 9)) == 0:
        text = "(" + text + ")"
    text = draw(spaces) + text + draw(spaces)
    if text and draw(st.integers(0, 3)) == 0:  # one character inserted, replaced or deleted
        at = draw(st.integers(0, len(text) - 1))
        char = draw(st.sampled_from(list("[]'\\:.= ab-_()\n0")))
        edit = draw(st.integers(0, 2))
        text = text[:at] + (char if edit < 2 else "") + text[at + (edit > 0) :]
    return text


# --- properties ----------------------------------------------------------------------------


@SETTINGS
@given(simple_patterns())
def test_on_the_simple_subset_the_recogniser_agrees_with_the_grammar(pattern: str) -> None:
    """For subset patterns, the recogniser vouches exactly when both libraries accept."""
    vouched = fast_verdict(pattern, "2.1", "2.1") is True
    event(f"valid: {vouched}")
    assert vouched == library_verdict(pattern, "2.1", "2.1")


@settings(SETTINGS, max_examples=scaled(300))
@given(any_patterns())
def test_the_recogniser_never_vouches_for_a_pattern_the_grammar_rejects(pattern: str) -> None:
    """Faulty or unusual patterns: the recogniser says "valid" only when the libraries do."""
    vouched = fast_verdict(pattern, "2.1", "2.1")
    event(f"recognised: {vouched is True}")
    if vouched is True:
        assert library_verdict(pattern, "2.1", "2.1")


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '1.2.3.4']",
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        "[domain-name:value = 'x'] OR [url:value = 'y']",
        "[url:value = 'http://x.example/a?b=\\'c\\''] FOLLOWEDBY [domain-name:value != 'x.example']",
        "[network-traffic:dst_port >= 1024 AND network-traffic:dst_ref.value = '10.0.0.1']",
        "[file:name LIKE 'inv%.exe' OR file:name MATCHES '^inv[0-9]+\\\\.exe$']",
        "[x-acme-widget:serial_number = 42]",
        "  [email-message:from_ref.value = 'a@example.com']\n",
    ],
)
def test_common_forms_are_recognised_and_valid(pattern: str) -> None:
    """The forms feeds send most are decided without the grammar, and the grammar agrees."""
    assert fast_verdict(pattern, "2.1", "2.1") is True
    assert library_verdict(pattern, "2.1", "2.1")


@pytest.mark.parametrize(
    "pattern",
    [
        "([ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '5.6.7.8'])",
        "[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS",
        "[ipv4-addr:value IN ('1.2.3.4', '5.6.7.8')]",
        "[file:name NOT = 'x']",
        "[network-traffic:protocols[*] = 'tcp']",
        "[ipv4-addr:value = '1.2.3.4' /* comment */]",
        "[file:'name' = 'x']",
    ],
)
def test_other_valid_forms_are_left_to_the_grammar(pattern: str) -> None:
    """Outside the subset the recogniser abstains; the grammar accepts, and so does pattern_accepted."""
    assert fast_verdict(pattern, "2.1", "2.1") is None
    assert pattern_accepted(pattern, "2.1", "2.1")


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = ]",
        "[ipv4-addr:value => '1.2.3.4']",
        "[ipv4-addr:value = '1.2.3.4]",
        "[ipv4-addr:value = 'a\\qb']",
        "[ipv4-addr:Value = '1.2.3.4']",
        "[x:value = '1.2.3.4']",
        "[ipv4-addr:value-x = '1.2.3.4']",
        "[file:hashes.MD5 = 'not-an-md5']",
        "[file:size > true]",
        "[ipv4-addr:value = '1.2.3.4'] and [ipv4-addr:value = '5.6.7.8']",
        "ipv4-addr:value = '1.2.3.4'",
        "",
    ],
)
def test_invalid_patterns_are_rejected(pattern: str) -> None:
    """Bad operators, quoting, escapes, paths, types, hashes, boolean order tests, case, brackets."""
    assert fast_verdict(pattern, "2.1", "2.1") is None
    assert not pattern_accepted(pattern, "2.1", "2.1")


def test_other_versions_are_left_to_the_grammar() -> None:
    """pattern_version "2.0" (or stix2's None for an empty pattern) selects the 2.0 grammar: no shortcut."""
    pattern = "[ipv4-addr:value = '1.2.3.4']"
    assert fast_verdict(pattern, "2.0", "2.0") is None
    assert fast_verdict(pattern, "2.1", None) is None
    assert pattern_accepted(pattern, "2.0", "2.0") == library_verdict(pattern, "2.0", "2.0")


def test_verdicts_are_cached_by_pattern_text_and_versions() -> None:
    """A second look at the same (pattern, versions) is a cache hit; other versions are another entry."""
    patterns.cache_clear()
    pattern = "[domain-name:value = 'cache.example']"
    assert pattern_accepted(pattern, "2.1", "2.1")
    assert pattern_accepted(pattern, "2.1", "2.1")
    pattern_accepted(pattern, "2.0", "2.0")
    info = patterns.cache_info()
    assert (info.hits, info.misses) == (1, 2)


def test_overlong_patterns_are_judged_but_not_cached() -> None:
    """Patterns over the cache's length limit are still judged, just never kept."""
    patterns.cache_clear()
    pattern = "[file:name = '" + "a" * patterns.MAX_CACHED_LENGTH + "']"
    assert pattern_accepted(pattern, "2.1", "2.1")
    assert patterns.cache_info().currsize == 0


def test_recognise_returns_type_path_and_literal_of_each_comparison() -> None:
    """The scanner's output is what the semantic checks read (quoted path steps unescaped)."""
    found = recognise("[file:hashes.'SHA-256' = 'ab' AND file:name != 'x\\'y'] OR [x-a-b:c_d.e > -1.5]")
    assert found == [
        ("file", ["hashes", "SHA-256"], "'ab'"),
        ("file", ["name"], "'x\\'y'"),
        ("x-a-b", ["c_d", "e"], "-1.5"),
    ]


def test_concurrent_verdicts_on_novel_patterns_match_serial_ones() -> None:
    """pattern_accepted from several threads (cache misses, grammar fallbacks) gives the serial answers."""
    pool_patterns = [
        f"[ipv4-addr:value = '10.0.{n // 256}.{n % 256}']" if n % 3 else f"([ipv4-addr:value = '10.1.0.{n % 256}'])"
        for n in range(120)
    ] + ["[ipv4-addr:value = ]"] * 5
    patterns.cache_clear()
    serial = [library_verdict(p, "2.1", "2.1") for p in pool_patterns]
    patterns.cache_clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda p: pattern_accepted(p, "2.1", "2.1"), pool_patterns))
    assert threaded == serial
