"""The package list in pyproject.toml names every Python package of the source tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_every_package_is_installed_by_pyproject() -> None:
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(setup["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("hub", "connectors")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found <= declared, f"add to [tool.setuptools] packages: {sorted(found - declared)}"
    assert set(setup["package-dir"]) <= declared
