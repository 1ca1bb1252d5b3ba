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
    assert schema["km"]["properties"]["conf_type"]["default"] is None  # the conventions decide
    assert options.conventions.name == schema["conventions"]["default"]
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


@pytest.mark.parametrize(
    ("changes", "conf_type", "ties", "ci"),
    [
        ({}, "log", "Efron ties", "95% CI"),
        ({"conventions": "sas", "conf_level": 0.9}, "log-log", "Breslow ties", "90% CI"),
        ({"conventions": "sas", "km": {"conf_type": "plain"}}, "plain", "Breslow ties", "95% CI"),
    ],
)
def test_conventions_and_ci_level_are_resolved_from_the_config(changes, conf_type, ties, ci):
    options = ReportOptions.from_config(with_schema_defaults({"sites": {"a": "data/a"}, **changes}))
    assert (options.conf_type, options.ties, options.ci) == (conf_type, ties, ci)
    assert ties.split()[0] in options.conventions.methods_sentence()


def test_labels_show_the_configured_gfr_cutoff():
    options = ReportOptions.from_config(
        with_schema_defaults({"sites": {"a": "data/a"}, "gfr_cutoff": 62.5})
    )
    assert options.label("gfr_le70") == "GFR ≤ 62.5"
    assert options.label("emd") == "Extramedullary disease"


def test_a_config_missing_a_key_is_refused_not_defaulted():
    with pytest.raises(KeyError):
        ReportOptions.from_config({"sites": {"a": "data/a"}})
