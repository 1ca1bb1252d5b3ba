"""config/README.md documents every key of the config schema with the schema's own default.

The schema (workflow/schemas/config.schema.yaml) is where each default is declared; the README's
key table is checked against it, so the two cannot drift apart (issues 21 and 24).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text(encoding="utf-8"))
README = (ROOT / "config/README.md").read_text(encoding="utf-8")


def _keys(properties: dict, prefix: str = ""):
    """Every key of the schema, nested mappings as dotted names (site entries apart)."""
    for key, spec in properties.items():
        name = prefix + key
        yield name, spec
        if spec.get("type") == "object" and "properties" in spec and key != "sites":
            yield from _keys(spec["properties"], name + ".")


def _documented() -> dict[str, str]:
    """Key -> default cell of the README's first row naming it."""
    rows: dict[str, str] = {}
    for key, cell in re.findall(r"^\| `([^`]+)` \| ([^|]*) \|", README, re.MULTILINE):
        rows.setdefault(key, cell.strip())
    return rows


KEYS = dict(_keys(SCHEMA["properties"]))


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_schema_key_is_documented_with_its_default(key):
    rows = _documented()
    covered = key in rows or any(row.startswith(key + ".") for row in rows)
    assert covered, f"config/README.md has no row for `{key}`"
    spec = KEYS[key]
    literal = re.fullmatch(r"`([^`]*)`(?: \(.*\))?", rows.get(key, ""))
    if literal and "default" in spec:
        assert yaml.safe_load(literal.group(1)) == spec["default"], (
            f"config/README.md gives `{key}` the default {literal.group(1)}, "
            f"the schema {spec['default']!r}"
        )


def test_the_check_reads_defaults():
    """At least the scalar defaults are compared (the test cannot pass by matching nothing)."""
    rows = _documented()
    compared = [
        key
        for key, spec in KEYS.items()
        if "default" in spec and re.fullmatch(r"`([^`]*)`(?: \(.*\))?", rows.get(key, ""))
    ]
    assert len(compared) >= 20
