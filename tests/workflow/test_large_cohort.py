"""The whole workflow on a 2,000-patient simulated cohort: figures and report at any size.

Before issue 10 a cohort above ~550 patients stopped in the ``figures`` rule (the swimmer plot
grew 0.045 in per patient past plotnine's 25-inch limit), so there was no report at all.
"""

import re

import pandas as pd
import pytest
from markupsafe import escape
from runner import demo_config, run_workflow

from rwe import plots
from rwe.report.figures import embedded
from rwe.simulate import simulate_study

pytestmark = pytest.mark.workflow

N_PATIENTS = 2000
#: Report size bound. Nothing in the report grows with the number of patients. Figures: per
#: analysis set (all + each regimen above min_regimen_n: 9 here) two KM and two response
#: figures, two KM per subgroup of the whole cohort, two forest, two nadir, one exposure, one
#: swimmer: ~60 here. Each PNG has fixed inches at 200 dpi in 256 colours: 39 kB on average at
#: 2,000 patients, as at the demo's 126 (a swimmer of at most max_patients rows). Tables are
#: aggregates bounded by subgroups, AE terms and files (~0.2 MB). 60 × 39 kB × 4/3 (base64)
#: + 0.2 MB ≈ 3.3 MB; 5 MB leaves 50% headroom, while one per-patient element of 1 kB would
#: add 2 MB here and 1 GB at 1,000,000 patients.
MAX_REPORT_BYTES = 5_000_000
MAX_MEAN_PNG_BYTES = 60_000
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
    indexes = ("figures.csv", "figures_comparative.csv")  # the figures and comparative rules
    figures = pd.concat([pd.read_csv(results / i) for i in indexes], ignore_index=True)
    assert len(figures) > 20
    for f in figures.itertuples():
        # Each figure at print resolution, as the smaller of its PNG and its SVG.
        src = embedded(results / "figures" / f"{f.file}.png")["src"]
        assert f'<figure id="fig-{f.name}"><img src="{escape(src)}"' in html, f.name
    assert html.count('<figure id="fig-') == len(figures)


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
            assert f"</span> {escape(title)}. " in html, name  # the caption after "Figure n."
    assert not NOTE.search(" ".join(figures.loc[figures["kind"] == "km", "title"]))


def test_figures_and_report_do_not_grow_with_the_cohort(large_run):
    results, config = large_run
    size = (results / "report.html").stat().st_size
    assert size < MAX_REPORT_BYTES, size
    figures = pd.read_csv(results / "figures.csv")
    sets = pd.read_csv(results / "tables" / "baseline.csv")["analysis_set"].nunique()
    # Bounded by the config: four per analysis set, a KM pair per subgroup, six others and a
    # subgroup forest plot per endpoint (PFS, OS).
    assert len(figures) <= 4 * sets + 2 * len(config["subgroups"]) + 6 + 2
    pngs = [(results / "figures" / f"{f}.png").stat().st_size for f in figures["file"]]
    assert sum(pngs) / len(pngs) < MAX_MEAN_PNG_BYTES
    swimmer = (results / "figures" / "swimmer" / "swimmer_all.png").read_bytes()
    height = int.from_bytes(swimmer[20:24], "big")
    assert height <= plots.swimmer_height(N_PATIENTS) * plots.PNG_DPI
