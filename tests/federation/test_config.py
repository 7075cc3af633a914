"""The ``[[connectors]]`` section: parsed into frozen specs, and every mistake named by its key."""

from __future__ import annotations

import importlib.resources

import pytest

from hub.config import ConnectorConfig, parse_config
from hub.errors import ConfigError
from hub.tlp import TLP

DEMO = importlib.resources.files("hub").joinpath("demo.toml").read_text("utf-8")

PULL = """
[[connectors]]
name = "from-partner"
kind = "taxii-pull"
url = "https://taxii.partner.example/taxii2/"
collection = "shared-indicators"
username = "crisis-hub"
password_env = "PARTNER_PASSWORD"
channel = "partners"
stakeholder = "partner-cert"
interval = 120
assume_tlp = "amber"
"""

PUSH = """
[[connectors]]
name = "to-partner"
kind = "taxii-push"
url = "https://taxii.partner.example/taxii2/api/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
token_env = "PARTNER_TOKEN"
channel = "committee"
"""


def test_connectors_are_read_with_their_defaults() -> None:
    config = parse_config(DEMO + PULL + PUSH, "test")
    pull, push = config.connectors
    assert pull == ConnectorConfig(
        name="from-partner", kind="taxii-pull", url="https://taxii.partner.example/taxii2/", channel="partners",
        collection="shared-indicators", username="crisis-hub", password_env="PARTNER_PASSWORD",
        stakeholder="partner-cert", interval=120.0, assume_tlp=TLP.AMBER,
    )  # fmt: skip
    assert (push.tlp_ceiling, push.interval, push.timeout, push.page_size, push.verify_tls) == (
        TLP.GREEN, 60.0, 30.0, 1000, True
    )  # fmt: skip
    assert config.connector("to-partner") is push and config.connector("nope") is None
    assert parse_config(DEMO, "demo").connectors == ()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (('channel = "partners"', 'channel = "nowhere"'), "connectors[0].channel: no channel named 'nowhere'"),
        (('stakeholder = "partner-cert"', 'stakeholder = "ghost"'), "connectors[0].stakeholder: no stakeholder named"),
        (('stakeholder = "partner-cert"', 'stakeholder = "observer"'), "'observer' may not write channel 'partners'"),
        (('stakeholder = "partner-cert"\n', ""), "connectors[0].stakeholder: required for taxii-pull"),
        (('kind = "taxii-pull"', 'kind = "taxii-pull-please"'), "connectors[0].kind"),
        (("https://taxii", "https://user:secret@taxii"), "connectors[0].url: put no credentials in the URL"),
        (('password_env = "PARTNER_PASSWORD"\n', ""), "connectors[0].password_env: Basic needs both"),
        (('password_env = "PARTNER_PASSWORD"', 'token_env = "T"'), "connectors[0].token_env: give either"),
        (("interval = 120", "interval = 0"), "connectors[0].interval"),
        (("interval = 120", 'password = "hunter2"'), "connectors[0]"),  # no place for a secret itself
    ],
)
def test_each_mistake_names_its_key(change: tuple[str, str], error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(DEMO + PULL.replace(*change), "test")
    assert error in caught.value.description


def test_kind_specific_keys_and_duplicate_names_are_refused() -> None:
    with_assume = PUSH.replace('channel = "committee"', 'channel = "committee"\nassume_tlp = "red"')
    with pytest.raises(ConfigError) as caught:
        parse_config(DEMO + with_assume + PUSH, "t")
    assert "connectors[0].assume_tlp: only for taxii-pull connectors" in caught.value.description
    assert "connectors[1].name: another connector is already named 'to-partner'" in caught.value.description
