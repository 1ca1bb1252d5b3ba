"""rwe.checksums: digests of outputs recorded in sha256sum format and checked against content."""

import hashlib
import os
from pathlib import Path

import pytest

from rwe.checksums import (
    changed_outputs,
    file_checksums,
    is_dry_run,
    output_sha256,
    read_manifest,
    record_outputs,
    remove_output,
)


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "figures").mkdir(parents=True)
    (tmp_path / "results" / "adsl.csv").write_text("site,patient_id\ndemo,P001\n")
    (tmp_path / "results" / "figures" / "km.svg").write_text("<svg/>")
    (tmp_path / "results" / "figures" / ".snakemake_timestamp").write_text("")
    return ["results/adsl.csv", "results/figures"]


def test_the_manifest_is_what_sha256sum_writes(outputs):
    entries = record_outputs(outputs, "results/checksums.sha256")
    line = Path("results/checksums.sha256").read_text().splitlines()[0]
    expected = hashlib.sha256(b"site,patient_id\ndemo,P001\n").hexdigest()
    assert line == f"{expected}  results/adsl.csv"
    assert read_manifest("results/checksums.sha256") == entries
    assert changed_outputs("results/checksums.sha256") == []


def test_an_edit_with_the_old_time_is_found_and_the_output_removed(outputs):
    record_outputs(outputs, "results/checksums.sha256")
    times = os.stat("results/adsl.csv")
    with open("results/adsl.csv", "a") as fh:
        fh.write("demo,P002\n")
    os.utime("results/adsl.csv", ns=(times.st_atime_ns, times.st_mtime_ns))
    Path("results/figures/km.svg").write_text("<svg></svg>")
    assert changed_outputs("results/checksums.sha256") == ["results/adsl.csv", "results/figures"]
    for path in changed_outputs("results/checksums.sha256"):
        remove_output(path)
    assert not os.path.exists("results/adsl.csv")
    assert not os.path.exists("results/figures")


def test_a_folder_digest_ignores_snakemakes_timestamp_and_follows_names(outputs):
    before = output_sha256("results/figures")
    Path("results/figures/.snakemake_timestamp").write_text("later")
    assert output_sha256("results/figures") == before
    os.rename("results/figures/km.svg", "results/figures/os.svg")
    assert output_sha256("results/figures") != before


def test_recording_keeps_other_entries_and_drops_removed_outputs(outputs):
    record_outputs(outputs, "results/checksums.sha256")
    os.remove("results/adsl.csv")
    entries = record_outputs(["results/figures"], "results/checksums.sha256")
    assert list(entries) == ["results/figures"]


def test_input_checksums_are_by_file_name(tmp_path):
    (tmp_path / "patients.csv").write_text("a\n")
    checksums = file_checksums([tmp_path / "patients.csv", tmp_path / "labs.csv"])
    assert checksums == {"patients.csv": hashlib.sha256(b"a\n").hexdigest()}


@pytest.mark.parametrize(
    ("argv", "dry"),
    [
        (["-n"], True),
        (["-np", "--cores", "2"], True),
        (["--dry-run"], True),
        (["--cores", "2", "-p"], False),
        (["-s", "Snakefile", "--configfile", "x.yaml"], False),
    ],
)
def test_dry_run_flags(argv, dry):
    assert is_dry_run(argv) is dry
