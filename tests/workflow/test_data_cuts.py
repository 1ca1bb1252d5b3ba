"""Two data cuts of one site: the second run compares its estimates and patients with the first."""

import json

import pandas as pd
import pytest
from runner import ROOT, demo_config, run_workflow

pytestmark = pytest.mark.workflow


def read_text(path):
    """An extract file exactly as written: every cell text, nothing read as missing."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_second_cut_lists_what_changed(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for name in ("patients", "responses", "adverse_events", "labs"):
        (site / f"{name}.csv").write_bytes((ROOT / "data" / "demo" / f"{name}.csv").read_bytes())
    config = demo_config({"demo": str(site)})
    config["data_cut"] = "cut-1"
    first = run_workflow(tmp_path, config)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results"
    assert (pd.read_csv(results / "tables" / "changes.csv")["status"] == "new").all()

    # The next cut: two patients gone, one patient's follow-up extended by a year.
    patients = read_text(site / "patients.csv").iloc[2:].copy()
    alive = patients.index[patients["death_day"] == ""][0]
    patients.loc[alive, "last_followup_day"] = str(
        int(patients.loc[alive, "last_followup_day"]) + 365
    )
    patients.to_csv(site / "patients.csv", index=False)
    for name in ("responses", "adverse_events", "labs"):  # and their rows of the long tables
        long = read_text(site / f"{name}.csv")
        long[long["patient_id"].isin(patients["patient_id"])].to_csv(
            site / f"{name}.csv", index=False
        )
    config["data_cut"] = "cut-2"
    second = run_workflow(tmp_path, config)
    assert second.returncode == 0, second.stderr[-3000:]

    counts = pd.read_csv(results / "tables" / "changes_patients.csv")
    assert counts.to_dict("records") == [
        {
            "site": "demo",
            "n_previous": 126,
            "n_current": 124,
            "added": 0,
            "removed": 2,
            "outcome_changed": 1,
        }
    ]
    changes = pd.read_csv(results / "tables" / "changes.csv")
    assert set(changes["previous_cut"]) == {"cut-1"}
    assert set(changes["current_cut"]) == {"cut-2"}
    patients_row = changes[
        (changes["table"] == "attrition") & (changes["statistic"] == "n_out")
    ].iloc[0]
    assert (patients_row["previous"], patients_row["current"], patients_row["difference"]) == (
        126,
        124,
        -2,
    )
    assert patients_row["status"] == "changed"
    # Both cuts are kept, in order; patient-level outcomes only under adam/.
    assert json.loads((results / "cuts" / "cut-2" / "cut.json").read_text())["previous"] == "cut-1"
    assert (results / "cuts" / "cut-1" / "tables" / "km_medians.csv").is_file()
    assert (results / "adam" / "cuts" / "cut-1" / "outcomes.csv").is_file()
    assert not list((results / "cuts").rglob("outcomes.csv"))
    html = (results / "report.html").read_text()
    assert "Changes since the last data cut" in html
