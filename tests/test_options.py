"""The one options object of the figures and report: built from the validated config."""

import dataclasses

import pytest
import yaml

from rwe.options import CONFIG_SCHEMA, ReportOptions, with_schema_defaults


def test_every_default_comes_from_the_schema():
    schema = yaml.safe_load(CONFIG_SCHEMA.read_text())["properties"]
    options = ReportOptions.from_config(with_schema_defaults({"sites": {"a": "data/a"}}))
    assert options.max_patients == schema["figures"]["properties"]["max_patients"]["default"]
    assert options.conf_level == schema["conf_level"]["default"]
    assert options.conf_type == schema["km"]["properties"]["conf_type"]["default"]
    assert options.subgroups == tuple(schema["subgroups"]["default"])
    assert options.title == schema["report"]["properties"]["title"]["default"]
    assert options.data_cut == schema["data_cut"]["default"]


def test_options_follow_the_config_and_cannot_change():
    config = with_schema_defaults(
        {"sites": {"a": "data/a", "b": {"aggregates": "agg/b"}}, "figures": {"max_patients": 7}}
    )
    options = ReportOptions.from_config(config)
    assert (options.max_patients, options.ci_bands) == (7, True)
    assert options.sites == ("a", "b")
    assert options.aggregate_sites == ("b",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_patients = 8


def test_a_config_missing_a_key_is_refused_not_defaulted():
    with pytest.raises(KeyError):
        ReportOptions.from_config({"sites": {"a": "data/a"}})
