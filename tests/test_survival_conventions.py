"""The ``conventions: r | sas`` switch: what it sets, how km.conf_type overrides it, the methods
sentence, the side-by-side table, and that it reaches the aggregate exports.

That each convention's numbers equal R run with the same options is tested live in
test_survival_parity.py (``test_sas_conventions_match_r_with_the_same_options``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from snakemake.utils import validate

from rwe import aggregates, cuts
from rwe import survival_tables as st
from rwe.derive import derive_adsl, derive_adtte
from rwe.io import read_site
from rwe.survival import CONVENTIONS, resolve_conventions
from rwe.validate import validate_extract

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
COVARIATES = ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"]


@pytest.fixture(scope="module")
def demo():
    tables, _ = read_site(ROOT / "data" / "demo", "demo")
    typed = validate_extract({"demo": tables})
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl)


def test_r_is_log_and_efron_sas_is_log_log_and_breslow():
    r, sas = resolve_conventions("r"), resolve_conventions("sas")
    assert (r.conf_type, r.ties) == ("log", "efron")
    assert (sas.conf_type, sas.ties) == ("log-log", "breslow")
    assert resolve_conventions() == r


def test_km_conf_type_overrides_the_scale_only():
    c = resolve_conventions("sas", "plain")
    assert (c.conf_type, c.ties, c.overridden) == ("plain", "breslow", True)
    assert not resolve_conventions("sas", "log-log").overridden


@pytest.mark.parametrize("bad", [("stata", None), ("r", "logit")])
def test_unknown_values_are_refused(bad):
    with pytest.raises(ValueError, match="must be one of"):
        resolve_conventions(*bad)


def test_methods_sentence_states_scale_ties_and_override():
    r = resolve_conventions("r").methods_sentence()
    assert "log scale" in r
    assert "Efron" in r
    assert 'ties = "efron"' in r
    sas = resolve_conventions("sas").methods_sentence()
    assert "log-log scale" in sas
    assert "Breslow" in sas
    assert "PROC PHREG" in sas
    assert 'conf.type = "log-log"' in sas  # the R check is stated
    assert resolve_conventions("sas").ties_label == "Breslow ties"
    override = resolve_conventions("sas", "log").methods_sentence()
    assert "km.conf_type" in override
    assert "log-log scale" in override


def test_schema_default_is_r_and_conf_type_comes_from_it():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, str(SCHEMA), set_default=True)
    assert config["conventions"] == "r"
    assert config["km"]["conf_type"] is None  # not set: the convention's scale
    config = {"sites": {"a": "data/demo"}, "conventions": "sas"}
    validate(config, str(SCHEMA), set_default=True)
    assert resolve_conventions(config["conventions"], config["km"]["conf_type"]).conf_type == (
        "log-log"
    )


def test_comparison_table_puts_each_convention_beside_the_other(demo):
    adsl, adtte = demo
    table = st.conventions_comparison(adsl, adtte, COVARIATES)
    assert list(table.columns) == st.CONVENTIONS_COMPARISON_COLUMNS
    assert set(table["estimate"]) == {"median", "hr"}
    assert len(table) == 2 * (1 + len(COVARIATES))
    sets = {"all": adsl}
    for name, c in ((n, resolve_conventions(n)) for n in CONVENTIONS):
        medians = st.km_median_table(st.km_fits(adsl, adtte, sets, [], c.conf_type))
        cox = st.cox_table(st.cox_models(adsl, adtte, sets, COVARIATES, ties=c.ties))
        cox = cox[cox["model"] == "multivariable"]
        for m in medians.itertuples():
            row = table[(table["endpoint"] == m.endpoint) & (table["estimate"] == "median")]
            assert row[f"{name}_ci_lower"].item() == pytest.approx(m.ci_lower, nan_ok=True)
        for h in cox.itertuples():
            row = table[(table["endpoint"] == h.endpoint) & (table["term"] == h.term)]
            assert row[f"{name}_value"].item() == pytest.approx(h.hr)
            assert row[f"{name}_p"].item() == pytest.approx(h.p)
    # The conventions differ where they should: CI of the median, and HRs with tied times.
    medians = table[table["estimate"] == "median"]
    assert np.allclose(medians["r_value"], medians["sas_value"])
    assert not np.allclose(medians["r_ci_lower"], medians["sas_ci_lower"])
    hrs = table[table["estimate"] == "hr"]
    assert not np.allclose(hrs["r_value"], hrs["sas_value"])


def test_aggregate_exports_carry_the_conventions(tmp_path):
    config = {"sites": {"a": "data/demo"}, "conventions": "sas"}
    validate(config, str(SCHEMA), set_default=True)
    options = aggregates.aggregate_options(config)
    assert (options["conf_type"], options["ties"]) == ("log-log", "breslow")
    # A manifest written before ties was recorded was computed with Efron ties: refused by a
    # run with the sas conventions, accepted by one with r.
    manifest = json.loads((ROOT / "data/multisite/site_c/manifest.json").read_text())
    assert "ties" not in manifest["config"]
    r_options = {**manifest["config"], "ties": "efron"}
    aggregates.read_site_aggregates(ROOT / "data/multisite/site_c", "site_c", r_options)
    sas_options = {**r_options, "ties": "breslow"}
    with pytest.raises(aggregates.AggregateError, match="ties"):
        aggregates.read_site_aggregates(ROOT / "data/multisite/site_c", "site_c", sas_options)


def test_data_cut_says_when_the_conventions_changed_an_estimate(demo):
    adsl, adtte = demo
    sets = {"all": adsl}

    def headlines(name):
        c = resolve_conventions(name)
        fits = st.km_fits(adsl, adtte, sets, [], c.conf_type)
        models = st.cox_models(adsl, adtte, sets, COVARIATES, ties=c.ties)
        return cuts.headline_estimates(
            {"km_medians": st.km_median_table(fits), "cox": st.cox_table(models)}
        )

    changes = cuts.estimate_changes(headlines("r"), headlines("sas"), ["conf_type", "ties"])
    flagged = changes["status"] == "changed (conventions: conf_type and ties differ)"
    assert set(changes.loc[flagged, "statistic"]) == {"ci_lower", "ci_upper", "hr", "p"}
    assert set(changes.loc[~flagged, "status"]) <= {"unchanged", "new", "dropped"}
    medians = changes[(changes["table"] == "km_medians") & (changes["statistic"] == "median")]
    assert (medians["status"] == "unchanged").all()  # the point estimate is the same
