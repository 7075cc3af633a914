"""The key layout: every key of a channel shares its hash tag, and nothing escapes the namespace."""

from __future__ import annotations

import re

from hub.store.layout import Keys

KEYS = Keys("ns")


def hash_tag(key: str) -> str:
    """What Redis Cluster hashes: the part between the first ``{`` and the next ``}``, if any."""
    match = re.search(r"\{([^}]+)\}", key)
    return match.group(1) if match else key


def test_every_key_of_a_channel_hashes_to_the_same_slot() -> None:
    keys = [
        KEYS.log("sector.energy"),
        KEYS.objects("sector.energy"),
        KEYS.format("sector.energy"),
        KEYS.legacy_versions("sector.energy", "indicator--1"),
        KEYS.legacy_latest("sector.energy"),
        KEYS.trimmed("sector.energy"),
        KEYS.of_type("sector.energy", "indicator"),
        KEYS.referrers("sector.energy", "indicator--1"),
        KEYS.live("sector.energy"),
    ]
    assert {hash_tag(k) for k in keys} == {"ch:sector.energy"}


def test_the_append_script_prefix_is_where_the_indexes_live() -> None:
    """The append script builds ``t:<type>`` and ``r:<id>`` from the prefix: the names must agree."""
    assert KEYS.of_type("c", "note") == KEYS.channel_prefix("c") + "t:note"
    assert KEYS.referrers("c", "x--1") == KEYS.channel_prefix("c") + "r:x--1"


def test_two_channels_never_share_a_key() -> None:
    assert KEYS.log("a") != KEYS.log("b") and hash_tag(KEYS.log("a")) != hash_tag(KEYS.log("b"))


def test_a_script_s_keys_share_a_slot() -> None:
    """The audit append and the checkpoint save each touch two keys: one hash tag each."""
    assert hash_tag(KEYS.audit) == hash_tag(KEYS.audit_head) == "ns:audit"
    assert hash_tag(KEYS.checkpoint("feed")) == hash_tag(KEYS.lease("feed")) == "ns:connector:feed"


def test_every_key_is_in_the_namespace() -> None:
    keys = [
        KEYS.log("c"),
        KEYS.owners,
        KEYS.owners_recorded,
        KEYS.tokens,
        KEYS.secret("cursor"),
        KEYS.audit,
        KEYS.audit_head,
        KEYS.checkpoint("feed"),
        KEYS.lease("feed"),
        KEYS.connector_statuses,
        KEYS.taxii_status("5e1f"),
    ]
    assert all(k.lstrip("{").startswith("ns:") for k in keys)


def test_the_names_stored_data_already_lives_under() -> None:
    """Renaming a key would orphan what a running hub has stored: these are fixed."""
    assert KEYS.log("c") == "ns:{ch:c}:log"
    assert KEYS.live("*") == "ns:{ch:*}:live"
    assert KEYS.owners_recorded == "ns:owners:recorded"
    assert KEYS.tokens == "ns:tokens"
    assert KEYS.audit_head == "{ns:audit}:head"
    assert KEYS.lease("feed") == "{ns:connector:feed}:lease"
    assert KEYS.connector_statuses == "ns:connectors"
    assert KEYS.taxii_status("5e1f") == "ns:taxii:status:5e1f"
