"""Plausibility checks in the site job: counted with warn, the site's job stopped with stop."""

from __future__ import annotations

import pandas as pd
import pytest
from runner import demo_config, run_workflow

from rwe.simulate import simulate_site, write_site

pytestmark = pytest.mark.workflow
TARGET = "results/tables/plausibility.csv"


def implausible_extract(folder):
    """A small simulated site with two haemoglobins in g/L under g/dL and one ANC above WBC."""
    tables = simulate_site(30, seed=41, site="odd")
    labs = tables["labs"]
    hgb = labs.index[labs["test"] == "HGB"][[5, 9]]
    labs.loc[hgb, "value"] = labs.loc[hgb, "value"] * 10
    anc = labs.index[(labs["test"] == "ANC") & (labs["day"] > 0)][0]
    labs.loc[anc, "value"] = 50.0
    write_site(tables, folder)


def test_warn_counts_the_findings_and_keeps_impossible_values_out_of_the_nadirs(tmp_path):
    implausible_extract(tmp_path / "extract")
    config = demo_config({"odd": str(tmp_path / "extract")})
    result = run_workflow(tmp_path, config, TARGET, "results/adam/nadirs.csv")
    assert result.returncode == 0, result.stderr[-5000:]
    found = pd.read_csv(tmp_path / TARGET).set_index("check")
    assert found.loc["HGB outside its physiological range 1–25 g/dL", "n_rows"] == 2
    assert found.loc["ANC above WBC of the same day", "n_rows"] == 1
    assert (found["file"].str.startswith("odd/")).all()
    nadirs = pd.read_csv(tmp_path / "results" / "adam" / "nadirs.csv")
    assert nadirs.loc[nadirs["test"] == "HGB", "nadir"].max() <= 25
    log = (tmp_path / "results" / "logs" / "site" / "odd.log").read_text()
    assert "implausible: odd/labs.csv, column value: ANC above WBC of the same day on 1 rows" in log


def test_stop_fails_the_site_with_every_finding(tmp_path):
    implausible_extract(tmp_path / "extract")
    config = demo_config({"odd": str(tmp_path / "extract")})
    config["plausibility"] = {"on_implausible": "stop"}
    result = run_workflow(tmp_path, config, TARGET)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "odd/labs.csv, column 'value': implausible: HGB outside" in output
    assert "ANC above WBC of the same day on 1 of" in output
    assert "SIM-odd" not in output
    assert not (tmp_path / TARGET).exists()
