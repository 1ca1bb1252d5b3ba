"""Row-level sites as Snakemake jobs: one `site` job each, then `pool` (issue 11).

Two small sites with their own coding (site a: regimen short codes; site b: sex as 1/2 and
calendar dates) run the whole workflow once; the tests then ask Snakemake what a change would
re-run, break one site, and interrupt a run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pandas as pd
import pytest
import yaml
from runner import ROOT, SNAKEMAKE, demo_config, run_workflow

from bad_extracts import CASES, SECRET_NAME, broken
from rwe.simulate import SHORT_REGIMEN_CODES, simulate_study

pytestmark = pytest.mark.workflow

N_PER_SITE = 30
ADAM = ("adsl", "adrs", "adtte", "adae", "adlb")


def make_sites(folder):
    """Two coded site extracts under ``folder`` and the config entries that harmonise them."""
    simulate_study(
        2 * N_PER_SITE, 41, 2, folder, ["a", "b"], [["regimen_codes"], ["sex_numeric", "dates"]]
    )
    return {
        "a": {
            "path": str(folder / "a"),
            "regimen_aliases": {code: name for name, code in SHORT_REGIMEN_CODES.items()},
        },
        "b": {"path": str(folder / "b"), "sex_aliases": {"1": "M", "2": "F"}, "dates": True},
    }


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    """The whole workflow on the two sites."""
    root = tmp_path_factory.mktemp("two_sites")
    config = demo_config(make_sites(root / "extracts"))
    config["report"]["published_reference"] = None
    workdir = root / "run"
    workdir.mkdir()
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-5000:]
    return root, config, workdir / "results"


def planned_jobs(output: str) -> list[tuple[str, str | None]]:
    """(rule, site wildcard) of every job in the output of `snakemake --dry-run`."""
    jobs = []
    for block in re.split(r"\n(?=rule |localrule )", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            site = re.search(r"wildcards: site=(\w+)", block)
            jobs.append((rule.group(1), site.group(1) if site else None))
    return jobs


def test_each_site_has_its_own_datasets_and_the_pool_is_their_concatenation(two_sites):
    _, _, results = two_sites
    for name in ADAM:
        parts = [(results / "adam" / "sites" / s / f"{name}.csv").read_text() for s in "ab"]
        pooled = (results / "adam" / f"{name}.csv").read_text()
        header = parts[0].split("\n", 1)[0]
        assert parts[1].split("\n", 1)[0] == header
        assert pooled == parts[0] + parts[1].split("\n", 1)[1], name
    adsl = pd.read_csv(results / "adam" / "adsl.csv")
    assert adsl.groupby("site").size().to_dict() == {"a": N_PER_SITE, "b": N_PER_SITE}
    assert set(adsl["sex"]) == {"M", "F"}
    assert not set(adsl["regimen"]) & set(SHORT_REGIMEN_CODES.values())
    quality = pd.read_csv(results / "tables" / "data_quality.csv")
    assert quality["file"].str.split("/").str[0].unique().tolist() == ["a", "b"]


def test_no_date_of_the_dated_site_is_written_anywhere(two_sites):
    root, _, results = two_sites
    dates = set()
    for path in (root / "extracts" / "b").glob("*.csv"):
        table = pd.read_csv(path, dtype=str)
        for col in [c for c in table.columns if "date" in c]:
            dates |= set(table[col].dropna())
    assert len(dates) > 100
    written = [p for p in results.rglob("*") if p.is_file() and p.suffix != ".png"]
    for path in written:
        text = path.read_text(errors="ignore")
        assert not dates & set(re.findall(r"\d{4}-\d{2}-\d{2}", text)), path
    assert not any("date" in c for c in pd.read_csv(results / "adam" / "adsl.csv").columns)


def test_a_new_patients_file_at_one_site_reruns_that_site_and_what_follows(two_sites):
    root, config, results = two_sites
    patients = root / "extracts" / "a" / "patients.csv"
    original = patients.read_bytes()
    try:
        table = pd.read_csv(patients, dtype=str, keep_default_na=False)
        table.loc[0, "age"] = str(int(table.loc[0, "age"]) + 1)
        table.to_csv(patients, index=False)
        plan = run_workflow(results.parent, config, "--dry-run")
    finally:
        patients.write_bytes(original)
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = planned_jobs(plan.stdout + plan.stderr)
    assert ("site", "a") in jobs
    assert ("site", "b") not in jobs
    rules = {rule for rule, _ in jobs}
    assert {"pool", "response", "survival", "safety", "report"} <= rules


def test_a_bad_site_fails_alone_and_the_other_sites_outputs_are_kept(tmp_path):
    config = demo_config(make_sites(tmp_path / "extracts"))
    folder = tmp_path / "extracts" / "a"
    tables = {n: pd.read_csv(folder / f"{n}.csv") for n in ("patients", "responses")}
    cases = {c[0]: c[1] for c in CASES}
    tables, row = broken(tables, cases["age_not_a_number"])
    cases["identifier_column"](tables)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    result = run_workflow(tmp_path, config, "--keep-going")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Site 'a'" in output
    assert f"a/patients.csv, row {row}, column 'age': expected a whole number" in output
    assert "column 'patient_name': looks like a direct identifier" in output
    assert SECRET_NAME not in output
    assert not any(pid in output for pid in tables["patients"]["patient_id"])
    results = tmp_path / "results"
    for name in ADAM:
        assert (results / "adam" / "sites" / "b" / f"{name}.csv").stat().st_size > 0
        assert not (results / "adam" / "sites" / "a" / f"{name}.csv").exists()
        assert not (results / "adam" / f"{name}.csv").exists()
    assert not (results / "tables").exists() or not any((results / "tables").iterdir())
    assert not (results / "provenance.json").exists()


def test_a_run_killed_after_the_site_jobs_ends_as_an_uninterrupted_run(two_sites, tmp_path):
    _, config, finished = two_sites
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    command = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path)]
    command += ["--cores", "2", "--configfile", str(config_path)]
    run = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    sites_done = [tmp_path / "results" / "adam" / "sites" / s / "inputs.json" for s in "ab"]
    deadline = time.monotonic() + 300
    while not all(p.exists() for p in sites_done) and run.poll() is None:
        assert time.monotonic() < deadline, "the site jobs did not finish"
        time.sleep(0.2)
    assert run.poll() is None, "the run ended before it could be interrupted"
    os.killpg(run.pid, signal.SIGKILL)  # as a lost node or a closed terminal would
    run.wait()
    assert not (tmp_path / "results" / "report.html").exists()
    # What README tells a user to do after a killed run: unlock, then re-run the incomplete.
    assert run_workflow(tmp_path, config, "--unlock").returncode == 0
    again = run_workflow(tmp_path, config, "--rerun-incomplete")
    assert again.returncode == 0, again.stderr[-5000:]
    for table in sorted((finished / "tables").glob("*.csv")):
        assert (tmp_path / "results" / "tables" / table.name).read_bytes() == table.read_bytes(), (
            table.name
        )
