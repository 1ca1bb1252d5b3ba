"""Issue 13 through Snakemake: check parity, planted identifiers, formula cells, config errors."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from runner import ROOT, SNAKEMAKE, demo_config, run_workflow

from bad_extracts import add_column, repeat_row, set_cell
from rwe.cli import main as rwe_main
from rwe.io import FORMULA_STARTS, NUMBER_TEXT
from rwe.simulate import (
    RESPONSE_WORDS,
    SHORT_REGIMEN_CODES,
    simulate_site,
    simulate_study,
    write_site,
)

pytestmark = pytest.mark.workflow


def _coded(folder, with_coding: bool) -> dict:
    """A site with its own regimen codes, sex as 1/2, response words, HGB in g/100mL and dates."""
    codings = ["regimen_codes", "sex_numeric", "response_words", "hgb_g_100ml", "dates"]
    simulate_study(30, 41, 1, folder, ["a"], [codings])
    if not with_coding:
        return {"a": str(folder)}
    return {
        "a": {
            "path": str(folder),
            "regimen_aliases": {code: name for name, code in SHORT_REGIMEN_CODES.items()},
            "sex_aliases": {"1": "M", "2": "F"},
            "response_aliases": {word: code for code, word in RESPONSE_WORDS.items()},
            "lab_units": {"g/100mL": "g/dL"},
            "dates": True,
        }
    }


def _plain(folder, site="a", change=None) -> dict:
    write_site(simulate_site(30, seed=43, site="p"), folder)
    if change:
        change(folder)
    return {site: str(folder)}


PARITY_CASES = {
    "coded site with its coding": lambda f: _coded(f, True),
    "coded site without its coding": lambda f: _coded(f, False),
    "duplicate response row": lambda f: _plain(f, change=lambda d: repeat_row(d, "responses", 2)),
    "site named NA": lambda f: _plain(f, site="NA"),
    "calendar date as a day": lambda f: _plain(
        f, change=lambda d: set_cell(d, "patients", 3, "last_followup_day", "20240131")
    ),
}


@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_rwe_check_accepts_exactly_what_the_site_job_accepts(tmp_path, case):
    sites = PARITY_CASES[case](tmp_path / "extract")
    config = demo_config(sites)
    config["report"]["published_reference"] = None
    (tmp_path / "run").mkdir()
    (site,) = sites
    run = run_workflow(tmp_path / "run", config, f"results/adam/sites/{site}/adsl.csv")
    checked = rwe_main(["check", "--config", str(tmp_path / "run" / "config.yaml")])
    assert checked in (0, 1)
    assert (checked == 0) == (run.returncode == 0), run.stderr[-3000:]
    if run.returncode == 0:
        adsl = pd.read_csv(
            tmp_path / "run" / "results" / "adam" / "sites" / site / "adsl.csv",
            keep_default_na=False,
        )
        assert set(adsl["site"]) == {site}


PLANTED = {
    "term": "nausea - ask jane.doe@example.org",
    "patient_comment": "Mrs Zelda Brandybuck, 0171 2345678",
    "patient_id": "zelda.b@example.org",
    "geburtsdatum": "1950-06-07",
}


def test_planted_identifying_values_never_reach_outputs_logs_or_stderr(tmp_path):
    folder = tmp_path / "extract"
    write_site(simulate_site(30, seed=44, site="p"), folder)
    set_cell(folder, "adverse_events", 2, "term", PLANTED["term"])
    add_column(folder, "patients", "comment", "")
    set_cell(folder, "patients", 5, "comment", PLANTED["patient_comment"])
    set_cell(folder, "patients", 6, "patient_id", PLANTED["patient_id"])
    add_column(folder, "patients", "Geburtsdatum", PLANTED["geburtsdatum"])
    config = demo_config({"planted": str(folder)})
    config["allow_extra_columns"] = True
    (tmp_path / "run").mkdir()
    result = run_workflow(tmp_path / "run", config)
    assert result.returncode != 0
    stderr = result.stdout + result.stderr
    assert "planted/adverse_events.csv, row 2, column 'term': looks like an e-mail" in stderr
    assert "column 'geburtsdatum': looks like a direct identifier" in stderr
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file() and p.name != "config.yaml"]
    assert written  # the logs at least
    for value in PLANTED.values():
        for part in (value, *[w for w in value.replace(",", " ").split() if len(w) > 5]):
            assert part not in stderr, part
            for path in written:
                assert part not in path.read_text(errors="replace"), (part, path)
    results = tmp_path / "run" / "results"
    assert not list(results.glob("adam/**/*.csv"))  # nothing downstream
    assert not (results / "tables").exists()
    assert not (results / "shareable").exists()


def test_no_exported_cell_could_run_as_a_formula(demo_run):
    results, _ = demo_run
    paths = [*(results / "tables").glob("*.csv"), *(results / "shareable").glob("*.csv")]
    assert len(paths) > 10
    for path in paths:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in table.columns:
            assert not column.startswith(FORMULA_STARTS), (path.name, column)
            cells = table[column]
            risky = cells[cells.str.startswith(FORMULA_STARTS)]
            assert risky.map(lambda c: bool(NUMBER_TEXT.fullmatch(c))).all(), (path.name, column)


@pytest.mark.parametrize(
    "text", ["sites: {demo: [\n", "", "- a list\n"], ids=["syntax error", "empty", "not a mapping"]
)
def test_a_broken_default_config_stops_the_workflow_without_a_traceback(tmp_path, text):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(text)
    result = subprocess.run(
        [str(SNAKEMAKE), "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "rwe: nothing was run. " in result.stderr
    assert "config/config.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert 'File "' not in result.stderr


def test_no_config_at_all_stops_the_workflow_without_a_traceback(tmp_path):
    result = subprocess.run(
        [str(SNAKEMAKE), "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "config/config.yaml: no config file there" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_typo_in_a_subgroup_stops_the_workflow_before_anything_runs(tmp_path):
    config = demo_config({"demo": str(ROOT / "data" / "demo")})
    config["subgroups"] = [*config["subgroups"], "triple_class_refactory"]
    result = run_workflow(tmp_path, config)
    assert result.returncode == 1
    assert "'triple_class_refactory' is not a column of ADSL" in result.stderr
    assert "did you mean 'triple_class_refractory'" in result.stderr
    assert not (tmp_path / "results").exists()


def test_a_configfile_with_a_syntax_error_is_refused_without_a_traceback(tmp_path):
    """Snakemake parses --configfile itself (before rwe): it refuses the file in one line, and
    `rwe check --config` names the line and column."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: {demo: data/demo\nkm: [\n")
    result = subprocess.run(
        [
            str(SNAKEMAKE),
            "-n",
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Config file is not valid JSON or YAML" in output
    assert "Traceback" not in output
    assert rwe_main(["check", "--config", str(bad)]) == 2


def test_a_site_named_na_runs_through_every_stage_and_stays_na(tmp_path):
    config = demo_config({"NA": str(ROOT / "data" / "demo")})
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results"
    for path in (results / "adam" / "adsl.csv", results / "tables" / "site_summary.csv"):
        sites = pd.read_csv(path, keep_default_na=False)["site"]
        assert set(sites) == {"NA"}, path.name


def test_a_configfile_with_a_key_given_twice_stops_the_workflow(tmp_path):
    config = demo_config({"demo": str(ROOT / "data" / "demo")})
    (tmp_path / "twice.yaml").write_text(
        yaml.safe_dump(config) + f"min_cell_count: {config['min_cell_count'] + 11}\n"
    )
    result = subprocess.run(
        [str(SNAKEMAKE), "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(tmp_path / "twice.yaml")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "the key 'min_cell_count' is given twice" in result.stderr
    assert not (tmp_path / "results").exists()


def _no_events(folder) -> None:
    """The demo with no progression and no death: every patient censored."""
    shutil.copytree(ROOT / "data" / "demo", folder)
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    patients[["progression_day", "death_day", "death_cause"]] = ""
    patients.to_csv(folder / "patients.csv", index=False)
    responses = pd.read_csv(folder / "responses.csv", dtype=str, keep_default_na=False)
    responses.loc[responses["response"] == "PD", "response"] = "SD"
    responses.to_csv(folder / "responses.csv", index=False)


def _one_patient(folder) -> None:
    """The demo's first patient alone (one regimen, no comparison, no model)."""
    shutil.copytree(ROOT / "data" / "demo", folder)
    first = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False).iloc[0]
    for path in folder.glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table[table["patient_id"] == first["patient_id"]].to_csv(path, index=False)


@pytest.mark.parametrize("make", [_no_events, _one_patient], ids=["no events", "one patient"])
def test_a_degenerate_cohort_finishes_with_every_table_and_the_report(tmp_path, make):
    """Issue 24: no events (figures crashed) and one patient (the comparison stopped the run)
    give every table and the report, the estimates they cannot support with their reason."""
    make(tmp_path / "extract")
    run = run_workflow(tmp_path, demo_config({"a": "extract"}))
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    assert (results / "report.html").is_file()
    assert "Traceback" not in run.stderr
    reasons = pd.read_csv(results / "tables" / "cox.csv")["note"].fillna("")
    assert reasons.str.contains("not estimable").any()
