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


def test_digest_cache_rehashes_only_what_changed(tmp_path, monkeypatch):

    from rwe import checksums

    hashed = []
    real = checksums._sha256
    monkeypatch.setattr(checksums, "_sha256", lambda p: hashed.append(Path(p).name) or real(p))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_text("x\n2\n")
    cache = checksums.DigestCache(tmp_path / "digests.json")
    first = file_checksums([a, b], cache)
    cache.save()
    # A new run (a new cache object, read from the file): nothing is hashed again.
    again = checksums.DigestCache(tmp_path / "digests.json")
    assert file_checksums([a, b], again) == first
    assert hashed == ["a.csv", "b.csv"]
    # Same size, and the modification time set back: the status-change time still moved.
    stat = a.stat()
    a.write_text("x\n9\n")
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = file_checksums([a, b], again)
    assert hashed == ["a.csv", "b.csv", "a.csv"]
    assert changed["a.csv"] != first["a.csv"]
    assert changed["a.csv"] == hashlib.sha256(a.read_bytes()).hexdigest()
    assert changed["b.csv"] == first["b.csv"]


def test_digest_cache_forgets_removed_files_and_survives_damage(tmp_path):
    from rwe.checksums import DigestCache

    a = tmp_path / "a.csv"
    a.write_text("x\n")
    cache = DigestCache(tmp_path / "digests.json")
    cache.sha256(a)
    a.unlink()
    cache.save()
    assert DigestCache(tmp_path / "digests.json").entries == {}
    (tmp_path / "digests.json").write_text("{not json")
    assert DigestCache(tmp_path / "digests.json").entries == {}
