"""A large laboratory file validated and derived in blocks of whole patients (rwe.blocks).

Forced onto the demo extract with tiny blocks and chunks, the blocks must change nothing but
the order of rows: the same validated tables, the same problems (each once, with its file row),
the same plausibility counts, the same site-job outputs line for line.
"""

import runpy
import shutil
import tempfile
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rwe.blocks
from rwe import config as rc
from rwe.catalog import ADAM, LAB_SUMMARIES
from rwe.exceptions import InputError
from rwe.io import read_extract_file
from rwe.validate import check_site

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
#: Blocks of ~30 kB (about 20 of the demo's 580 kB) read in chunks of 997 rows.
BLOCK = 30_000


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(rwe.blocks, "CHUNK_ROWS", 997)


def test_each_patient_is_in_one_block_in_file_order(tmp_path, small_chunks):
    n = rwe.blocks.block_count(DEMO / "labs.csv", BLOCK)
    assert n > 10
    blocks, _ = rwe.blocks.split_by_patient(DEMO / "labs.csv", "demo/labs.csv", "demo", n, tmp_path)
    parts = list(blocks)
    whole, _ = read_extract_file(DEMO / "labs.csv")
    assert blocks.rows == len(whole) == sum(len(p) for p in parts)
    owner = {}
    for i, part in enumerate(parts):
        assert np.all(np.diff(part["_row"].to_numpy()) > 0)  # file order within a block
        for patient in part["patient_id"].unique():
            assert owner.setdefault(patient, i) == i  # never in two blocks
    joined = pd.concat([p.astype(object) for p in parts]).sort_values("_row")
    rows = joined["_row"].to_numpy(dtype=np.int64) - 1
    for col in whole.columns:
        expected = whole[col].astype(object).to_numpy()[rows]
        assert pd.Series(joined[col].to_numpy()).equals(pd.Series(expected)), col


def multisite_options() -> list:
    """Each row-level site of the multi-site example with its coding (aliases, units, dates)."""
    config = rc.check_config(rc.read_config_file(ROOT / "config" / "multisite.yaml"), source="t")
    sites = []
    for site in rc.row_level_sites(config):
        options = rc.site_options(config, site)
        sites.append(pytest.param(site, options.pop("folder"), options, id=site))
    return sites


@pytest.mark.parametrize(
    ("site", "folder", "options"), [pytest.param("s", DEMO, {}, id="demo"), *multisite_options()]
)
def test_blocked_check_equals_whole(site, folder, options, small_chunks):
    whole, inputs, findings = check_site(folder, site, **options)
    blocked, blocked_inputs, blocked_findings = check_site(
        folder, site, **{**options, "block_bytes": BLOCK}
    )
    assert blocked_inputs == inputs
    pd.testing.assert_frame_equal(blocked_findings, findings)
    assert set(blocked) == set(whole)
    for name, table in whole.items():
        other = blocked[name]
        if name in ("labs", "response_labs"):  # blocks of patients: rows in another order
            key = ["patient_id", "day", "test", "value"]
            table, other = (
                t.astype(object).sort_values(key, ignore_index=True) for t in (table, other)
            )
        pd.testing.assert_frame_equal(other, table, check_dtype=False, check_categorical=False)


def bad_labs(folder: Path) -> None:
    """Problems spread over several blocks and chunks of the demo's labs.csv."""
    path = folder / "labs.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")

    def put(line: int, column: str, value: str) -> None:
        fields = lines[line].split(",")
        fields[header.index(column)] = value
        lines[line] = ",".join(fields)

    put(10, "value", "abc")
    put(5000, "patient_id", "NOT-A-PATIENT")
    put(9000, "unit", "furlongs")
    lines.insert(12000, lines[11999])  # a duplicate row, in the next chunk
    put(16000, "day", "99999")
    path.write_text("\n".join(lines) + "\n")


def problems(folder: Path, **options) -> list:
    with pytest.raises(InputError) as err:
        check_site(folder, "s", **options)
    return err.value.problems


def test_blocked_problems_equal_whole(tmp_path, small_chunks):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    bad_labs(folder)
    whole = problems(folder)
    assert len(whole) == 6
    assert problems(folder, block_bytes=BLOCK) == whole


def test_separator_line_in_a_later_chunk_named_by_its_row(tmp_path, small_chunks):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    lines = (folder / "labs.csv").read_text().splitlines()
    lines.insert(3000, ",,,,")
    (folder / "labs.csv").write_text("\n".join(lines) + "\n")
    (found,) = problems(folder, block_bytes=BLOCK)
    assert (found.row, found.message) == (3000, "holds nothing but separators: remove the line")
    assert problems(folder) == [found]


def test_header_only_labs_in_blocks(tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    (folder / "labs.csv").write_text("patient_id,day,test,value,unit\n")
    typed, inputs, _ = check_site(folder, "s", block_bytes=1)
    assert len(typed["labs"]) == 0
    assert len(typed["response_labs"]) == 0
    assert [i["rows"] for i in inputs if i["file"] == "labs.csv"] == [0]


class _Names(types.SimpleNamespace):
    def __getitem__(self, key):
        return getattr(self, key)


def run_site_job(folder: Path, out: Path, threads: int = 1, block_bytes: int = 0) -> None:
    """The workflow's site script, outside Snakemake, with the default config's options."""
    schema = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    config = rc.read_config_file(ROOT / "config" / "config.yaml")
    config["sites"] = {"s": str(folder)}
    config = rc.check_config(config, schema, "test")
    options = rc.site_options(config, "s", schema)
    del options["folder"]
    options["block_bytes"] = block_bytes or options["block_bytes"]
    output = {n: str(out / f"{n}.csv") for n in (*ADAM, *LAB_SUMMARIES)}
    output |= {n: str(out / f"{n}.csv") for n in ("data_quality", "plausibility")}
    output["inputs"] = str(out / "inputs.json")
    keys = ("gfr_cutoff", "pfs_death_events", "nadir_window", "response_source", "imwg")
    snakemake = types.SimpleNamespace(
        wildcards=_Names(site="s"),
        threads=threads,
        log=[str(out / "site.log")],
        output=_Names(**output),
        params=_Names(folder=str(folder), options=options, **{k: config[k] for k in keys}),
    )
    script = runpy.run_path(str(ROOT / "workflow" / "scripts" / "site.py"), run_name="site")
    script["main"](snakemake)


def lines(path: Path) -> tuple[bytes, list[bytes]]:
    text = path.read_bytes().splitlines()
    return text[0], sorted(text[1:])


@pytest.fixture
def spills(tmp_path, monkeypatch):
    """The blocks' folders the site job leaves behind (in a temporary folder of the test's)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return lambda: list(folder.glob("rwe-labs-*"))


@pytest.mark.parametrize("threads", [1, 2], ids=["one process", "two processes"])
def test_site_job_outputs_do_not_depend_on_blocks(tmp_path, spills, small_chunks, threads):
    run_site_job(DEMO, tmp_path / "whole")
    run_site_job(DEMO, tmp_path / "blocked", threads, BLOCK)
    assert spills() == []  # the blocks' folder is removed
    names = sorted(p.name for p in (tmp_path / "whole").iterdir() if p.suffix != ".log")
    assert len(names) == 11
    for name in names:
        whole, blocked = tmp_path / "whole" / name, tmp_path / "blocked" / name
        assert lines(blocked) == lines(whole), name
    # A blocked ADLB is the whole one grouped by blocks: not the file's order.
    blocked_adlb = (tmp_path / "blocked" / "adlb.csv").read_bytes()
    assert blocked_adlb != (tmp_path / "whole" / "adlb.csv").read_bytes()
    assert (
        f"in 20 block(s) by {threads} process(es)"
        in (tmp_path / "blocked" / "site.log").read_text()
    )


@pytest.mark.parametrize("threads", [1, 2], ids=["one process", "two processes"])
def test_site_job_on_bad_blocks_writes_nothing(tmp_path, monkeypatch, small_chunks, threads):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    bad_labs(folder)
    with pytest.raises(SystemExit):
        run_site_job(folder, tmp_path / "out", threads, BLOCK)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["site.log"]
    log = (tmp_path / "out" / "site.log").read_text()
    assert "row 12000" in log
    assert "NOT-A-PATIENT" not in log
