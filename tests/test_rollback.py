"""rwe.rollback: a failed run puts the previous outputs back and removes what it created."""

from __future__ import annotations

from rwe.rollback import PREVIOUS, discard, keep_previous, roll_back


def _tree(root):
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and PREVIOUS not in p.parts
    }


def test_roll_back_restores_replaced_and_removes_created(tmp_path):
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "a.csv").write_text("old a")
    (results / "figures" / "km").mkdir(parents=True)
    (results / "figures" / "km" / "x.png").write_text("old png")
    outputs = [
        results / "tables" / "a.csv",
        results / "tables" / "new.csv",
        results / "figures" / "km",
        results / "adam" / "sites" / "s" / "adsl.csv",
    ]
    before = _tree(results)
    keep_previous(outputs, results)
    # the run: Snakemake removes old outputs, then writes new ones, then fails
    (results / "tables" / "a.csv").unlink()
    (results / "tables" / "a.csv").write_text("new a")
    (results / "tables" / "new.csv").write_text("new")
    (results / "figures" / "km" / "x.png").unlink()
    (results / "figures" / "km" / "y.png").write_text("new png")
    (results / "adam" / "sites" / "s").mkdir(parents=True)
    (results / "adam" / "sites" / "s" / "adsl.csv").write_text("rows")
    assert roll_back(outputs, results) > 0
    assert _tree(results) == before
    assert not (results / "adam").exists()  # the folders the run created, left empty
    assert not (results / PREVIOUS).exists()


def test_an_output_outside_the_results_folder_is_left_alone(tmp_path):
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("mine")
    results = tmp_path / "results"
    results.mkdir()
    keep_previous([elsewhere], results)
    roll_back([elsewhere], results)
    assert elsewhere.read_text() == "mine"


def test_a_success_discards_what_was_kept(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.csv").write_text("old")
    keep_previous([results / "a.csv"], results)
    assert (results / PREVIOUS / "a.csv").read_text() == "old"
    discard(results)
    assert not (results / PREVIOUS).exists()
    assert (results / "a.csv").read_text() == "old"
