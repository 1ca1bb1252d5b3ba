"""The whole workflow on a 2,000-patient simulated cohort: figures and report at any size.

Before issue 10 a cohort above ~550 patients stopped in the ``figures`` rule (the swimmer plot
grew 0.045 in per patient past plotnine's 25-inch limit), so there was no report at all.
"""

import base64
import re

import pandas as pd
import pytest
from runner import demo_config, run_workflow

from rwe import plots
from rwe.simulate import simulate_study

pytestmark = pytest.mark.workflow

N_PATIENTS = 2000
#: Report size bound. Nothing in the report grows with the number of patients: the figures are
#: bounded by analysis sets × subgroups (~36 at the demo config) and each PNG by its fixed inches
#: at 200 dpi in 256 colours (≤ ~80 kB, a swimmer of at most max_patients rows ≤ ~200 kB);
#: tables are aggregates bounded by subgroups, AE terms and files. 36 × 80 kB × 4/3 (base64)
#: ≈ 3.9 MB is a loose ceiling; the demo (126 patients) report is ~1.9 MB. 6 MB leaves room for
#: a few more subgroups without letting a per-patient element (1 kB × 2,000 = 2 MB) slip in.
MAX_REPORT_BYTES = 6_000_000
NOTE = re.compile(r"([\d,]+) of ([\d,]+) patients, a random sample \(seed (\d+)\)")


@pytest.fixture(scope="module")
def large_run(tmp_path_factory):
    """``rwe simulate OUT --n 2000 --seed 1 --sites 1`` and the whole workflow on it."""
    workdir = tmp_path_factory.mktemp("large_run")
    simulate_study(N_PATIENTS, 1, 1, workdir / "extract")
    config = demo_config({"sim": str(workdir / "extract")})
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir / "results", config


def test_report_embeds_every_figure_of_figures_csv(large_run):
    results, _ = large_run
    html = (results / "report.html").read_text(encoding="utf-8")
    figures = pd.read_csv(results / "figures.csv")
    assert len(figures) > 20
    for f in figures.itertuples():
        png = (results / "figures" / f"{f.file}.png").read_bytes()
        assert f'id="fig-{f.name}"' in html, f.name
        assert base64.b64encode(png).decode("ascii") in html, f.name
    assert html.count("data:image/png;base64,") == len(figures)


def test_patient_level_figures_say_they_show_a_selection(large_run):
    results, config = large_run
    max_patients = config["figures"]["max_patients"]
    assert max_patients < N_PATIENTS
    figures = pd.read_csv(results / "figures.csv").set_index("name")
    html = (results / "report.html").read_text(encoding="utf-8")
    swimmer = figures.loc["swimmer_all", "title"]
    assert swimmer.endswith(plots.selection_note(max_patients, N_PATIENTS))
    assert f"{max_patients:,} of {N_PATIENTS:,} patients" in swimmer
    for kind in ("swimmer", "nadir"):  # every figure with one mark per patient
        for name, title in figures.loc[figures["kind"] == kind, "title"].items():
            shown, total, seed = NOTE.search(title).groups()
            assert int(shown) == max_patients, name
            assert int(total.replace(",", "")) > max_patients, name
            assert int(seed) == plots.SELECTION_SEED, name
            assert f"<figcaption>{title}</figcaption>" in html, name
    assert not NOTE.search(" ".join(figures.loc[figures["kind"] == "km", "title"]))


def test_figures_and_report_do_not_grow_with_the_cohort(large_run):
    results, _ = large_run
    size = (results / "report.html").stat().st_size
    assert size < MAX_REPORT_BYTES, size
    swimmer = (results / "figures" / "swimmer" / "swimmer_all.png").read_bytes()
    height = int.from_bytes(swimmer[20:24], "big")
    assert height <= plots.swimmer_height(N_PATIENTS) * plots.PNG_DPI
