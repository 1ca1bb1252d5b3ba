"""Figures: what they show is computed right, files are written as promised, privacy is kept."""

from __future__ import annotations

import struct

import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from rwe import plots
from rwe.options import ReportOptions, with_schema_defaults
from rwe.response import CATEGORIES
from rwe.safety import patient_nadirs
from rwe.survival_tables import km_curves, km_fits


@pytest.fixture(scope="module")
def cohort():
    """40 patients of two regimens: ADSL, ADTTE (PFS, OS) and ADLB with on-treatment counts."""
    rng = np.random.default_rng(5)
    n = 40
    pid = [f"P{i:03d}" for i in range(n)]
    followup = rng.integers(60, 1500, n)
    progression = np.where(
        rng.random(n) < 0.6, (followup * rng.uniform(0.2, 0.9, n)).astype(int), np.nan
    )
    death = np.where(rng.random(n) < 0.3, followup, np.nan)
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": pid,
            "regimen": np.where(np.arange(n) < 25, "Ixa-Rd", "Ixa-Pd"),
            "imid_containing": 1,
            "emd": pd.array(np.where(np.arange(n) % 4 == 0, 1, 0), dtype="Int64"),
            "age_ge80": pd.array(np.where(np.arange(n) < 3, 1, 0), dtype="Int64"),
            "last_followup_day": followup,
            "progression_day": progression,
            "death_day": death,
            "first_response_day": np.where(rng.random(n) < 0.5, 56, np.nan),
        }
    )
    adsl.loc[30:, "imid_containing"] = 0
    pfs_day = np.fmin(np.nan_to_num(progression, nan=np.inf), followup)
    adtte = pd.concat(
        [
            pd.DataFrame(
                {
                    "site": "s",
                    "patient_id": pid,
                    "paramcd": "PFS",
                    "aval": pfs_day / 30.4375,
                    "cnsr": np.where(np.isnan(progression), 1, 0),
                }
            ),
            pd.DataFrame(
                {
                    "site": "s",
                    "patient_id": pid,
                    "paramcd": "OS",
                    "aval": followup / 30.4375,
                    "cnsr": np.where(np.isnan(death), 1, 0),
                }
            ),
        ]
    )
    adlb = pd.DataFrame(
        {
            "site": "s",
            "patient_id": np.repeat(pid, 2),
            "day": np.tile([0, 28], n),
            "test": "ANC",
            "value": rng.uniform(0.5, 4, 2 * n),
            "unit": "10^9/L",
        }
    )
    return adsl, adtte, adlb


def response_rows():
    counts = {"sCR": 1, "CR": 3, "VGPR": 6, "PR": 10, "MR": 8, "SD": 5, "PD": 4}
    row = {
        "analysis_set": "all",
        "variable": "all",
        "level": "all",
        "n_evaluable": 37,
        **counts,
        "NE": 3,
        "orr": 20 / 37,
        "orr_ci_lower": 0.37,
        "orr_ci_upper": 0.7,
        "cbr": 28 / 37,
        "cbr_ci_lower": 0.59,
        "cbr_ci_upper": 0.88,
    }
    small = {
        **row,
        "variable": "age_ge80",
        "level": "1",
        "n_evaluable": 3,
        **dict.fromkeys(CATEGORIES, 0),
        "PR": 3,
    }
    return pd.DataFrame([row, small])


def figure_tables():
    cox = pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": ["PFS", "PFS"],
            "model": "multivariable",
            "term": ["emd", "age_ge80"],
            "hr": [2.0, np.nan],
            "ci_lower": [1.1, np.nan],
            "ci_upper": [3.6, np.nan],
            "p": [0.02, np.nan],
            "n": 40,
            "events": 24,
        }
    )
    logrank = pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": ["PFS", "OS"],
            "variable": "emd",
            "chisq": 1.0,
            "df": 1,
            "p": [0.2, 0.0004],
        }
    )
    return {
        "cox": cox,
        "logrank": logrank,
        "response": response_rows(),
        "exposure_response": pd.DataFrame(columns=["outcome", "exposure", "slope"]),
    }


def png_size(path):
    """Width and height in pixels from the PNG header."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_risk_table_counts_patients_still_at_risk():
    data = pd.DataFrame(
        {"aval": [1.0, 2.0, 6.0, 6.0, 13.0, 30.0], "group": ["a", "a", "a", "b", "b", "b"]}
    )
    curves = plots.group_curves(data.assign(event=1))
    risk = plots.risk_table(curves, [0, 6, 12, 24])
    expected = {
        ("a", 0): 3,
        ("a", 6): 1,
        ("a", 12): 0,
        ("b", 0): 3,
        ("b", 6): 3,
        ("b", 12): 2,
        ("b", 24): 1,
    }
    got = {(g, t): n for g, t, n in zip(risk["group"], risk["time"], risk["n"], strict=True)}
    for key, n in expected.items():
        assert got[key] == n, key
    shown = plots.risk_table(curves, [0, 6, 12, 24], min_cell_count=3).set_index(["group", "time"])[
        "label"
    ]
    assert shown[("b", 12)] == "<3"
    assert shown[("a", 12)] == "0"
    assert shown[("a", 0)] == "3"


def test_month_breaks_cover_follow_up_with_at_most_eleven_ticks():
    for longest in (2.5, 11, 40, 97, 250):
        breaks = plots.month_breaks(longest)
        assert breaks[0] == 0
        assert breaks[-1] >= longest
        assert len(breaks) <= 11
        assert len(set(np.diff(breaks))) == 1


def pfs_by_emd(cohort):
    """Patient rows (aval, event, group) of PFS by EMD."""
    adsl, adtte, _ = cohort
    pfs = adtte[adtte["paramcd"] == "PFS"].merge(adsl, on=["site", "patient_id"])
    return pfs.assign(event=1 - pfs["cnsr"], group=np.where(pfs["emd"] == 1, "EMD: yes", "EMD: no"))


def test_km_plot_draws_curves_and_numbers_at_risk_in_two_aligned_facets(cohort, tmp_path):
    data = pfs_by_emd(cohort)
    plot = plots.km_plot(plots.group_curves(data), "PFS by EMD", p_value=0.03, endpoint="PFS")
    built = plot.draw()
    assert len(built.axes) == 2  # the curve panel and the risk table panel
    top, bottom = sorted(built.axes, key=lambda ax: -ax.get_position().y0)
    assert top.get_position().x0 == pytest.approx(bottom.get_position().x0)
    assert top.get_position().width == pytest.approx(bottom.get_position().width)
    texts = [t.get_text() for t in bottom.texts]
    assert str(int((data[data["group"] == "EMD: no"]["aval"] >= 0).sum())) in texts
    assert "Number at risk" in texts
    assert any("Log-rank p = 0.030" == t.get_text() for t in top.texts)
    paths = plots.save(
        plots.km_plot(plots.group_curves(data), "PFS by EMD"), tmp_path / "km", width=7, height=5.5
    )
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert plots.PNG_DPI >= 150  # DESIGN.md §6
    assert png_size(paths[0]) == (7 * plots.PNG_DPI, int(5.5 * plots.PNG_DPI))
    assert paths[1].read_text().lstrip().startswith("<?xml")


def test_saving_a_figure_twice_writes_the_same_bytes_with_no_date(cohort, tmp_path):
    curves = plots.group_curves(pfs_by_emd(cohort))
    first = plots.save(plots.km_plot(curves, "PFS by EMD"), tmp_path / "a" / "km")
    second = plots.save(plots.km_plot(curves, "PFS by EMD"), tmp_path / "b" / "km")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.suffix
    assert "<dc:date>" not in first[1].read_text()


def test_file_stems_are_safe_for_names_from_the_input():
    assert plots.file_stem("<img src=x onerror=alert(1)>") == "img_src_x_onerror_alert_1"
    assert plots.file_stem("../../etc") == "etc"
    assert plots.file_stem("Ixa-Rd") == "Ixa-Rd"


def test_outcome_labels():
    assert plots.outcome_label("neutropenia_ge3") == "Neutropenia grade ≥3"
    assert plots.outcome_label("peripheral_neuropathy_ge2") == "Peripheral neuropathy grade ≥2"
    assert plots.outcome_label("disease_control") == "Disease control (≥ SD)"


def options_of(**config) -> ReportOptions:
    """The options of a one-site config with ``config`` changed, schema defaults filled in."""
    return ReportOptions.from_config(with_schema_defaults({"sites": {"s": "s"}, **config}))


def make(cohort, tmp_path, **config):
    adsl, adtte, adlb = cohort
    sets = {"all": adsl, "Ixa-Rd": adsl[adsl["regimen"] == "Ixa-Rd"]}
    config = {"sites": {"s": "s"}, "subgroups": ["emd", "age_ge80"], **config}
    options = ReportOptions.from_config(with_schema_defaults(config))
    tables = figure_tables()
    tables["km_curves"] = km_curves(km_fits(adsl, adtte, sets, list(options.subgroups)))
    return plots.make_figures(adsl, patient_nadirs(adlb), tables, sets, options, tmp_path)


def test_every_figure_is_written_and_indexed(cohort, tmp_path):
    index = make(cohort, tmp_path)
    assert list(index.columns) == ["name", "kind", "section", "file", "title"]
    for stem in index["file"]:
        assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
        assert (tmp_path / f"{stem}.svg").exists()
    kinds = set(index["kind"])
    assert {"km", "forest", "response", "nadir", "swimmer"} <= kinds
    names = set(index["name"])
    assert {
        "km_pfs_all_all",
        "km_os_all_emd",
        "km_pfs_Ixa-Rd_all",
        "forest_pfs_all",
        "swimmer_all",
    } <= names
    assert "km_pfs_Ixa-Rd_emd" not in names  # subgroup curves for the whole cohort only


def test_patient_level_pictures_and_small_groups_are_left_out_with_min_cell_count(cohort, tmp_path):
    index = make(cohort, tmp_path, min_cell_count=5)
    names = set(index["name"])
    assert "swimmer_all" not in names
    assert "km_pfs_all_emd" in names  # 10 vs 30 patients
    assert "km_pfs_all_age_ge80" not in names  # 3 patients aged 80 or more
    assert not any((tmp_path / "swimmer").iterdir())
    without = make(cohort, tmp_path / "open")
    assert "km_pfs_all_age_ge80" in set(without["name"])


def test_nadir_points_only_without_suppression(cohort):
    adsl, _, adlb = cohort
    nadirs = adsl[["patient_id", "imid_containing"]].merge(
        adlb[adlb["day"] > 0].rename(columns={"value": "nadir"}), on="patient_id"
    )
    boxes = plots.box_stats(nadirs, "imid_containing")
    with_points = plots.nadir_plot(boxes, "imid_containing", "t", points=nadirs)
    without = plots.nadir_plot(boxes, "imid_containing", "t")
    layer_names = lambda p: [type(layer.geom).__name__ for layer in p.layers]  # noqa: E731
    assert "geom_point" in layer_names(with_points)
    assert "geom_point" not in layer_names(without)


def test_box_statistics_are_matplotlibs_tukey_boxes():
    """The boxes drawn from five numbers equal what geom_boxplot computes (matplotlib's stats)."""
    from matplotlib.cbook import boxplot_stats

    rng = np.random.default_rng(4)
    values = pd.DataFrame(
        {
            "test": np.repeat(["ANC", "PLT"], 500),
            "group": np.tile(["a", "b"], 500),
            "nadir": np.concatenate([rng.lognormal(0, 0.6, 500), rng.normal(150, 40, 500)]),
        }
    )
    values.loc[[3, 7], "nadir"] = [40.0, 55.0]  # outliers beyond the whiskers
    boxes = plots.box_stats(values, "group").set_index(["test", "group"])
    for (test, group), part in values.groupby(["test", "group"]):
        expected = boxplot_stats(part["nadir"].to_numpy(), whis=1.5)[0]
        got = boxes.loc[(test, group)]
        assert got["n"] == len(part)
        for ours, theirs in (
            ("ymin", "whislo"),
            ("lower", "q1"),
            ("middle", "med"),
            ("upper", "q3"),
            ("ymax", "whishi"),
        ):
            assert got[ours] == pytest.approx(expected[theirs], rel=1e-12)


def test_response_labels_carry_the_evaluable_n():
    assert plots.response_groups(response_rows(), options_of()) == [
        "All patients (n = 37)",
        "Age ≥ 80: yes (n = 3)",
    ]


def test_the_selection_of_patients_is_reproducible_and_exactly_max_patients():
    first = plots.sample_positions(2000, 40)
    assert len(first) == 40
    assert len(set(first)) == 40
    assert list(first) == sorted(first)
    assert first.min() >= 0
    assert first.max() < 2000
    assert (plots.sample_positions(2000, 40) == first).all()  # same seed, same patients
    assert not (plots.sample_positions(2000, 40, seed=plots.SELECTION_SEED + 1) == first).all()
    assert list(plots.sample_positions(30, 40)) == list(range(30))  # at most max: everyone


def test_the_selection_note_is_built_from_the_configured_values():
    shown, total = 37, 1_000_000
    note = plots.selection_note(shown, total)
    assert note == f"{shown:,} of {total:,} patients, a random sample (seed {plots.SELECTION_SEED})"
    assert note.startswith("37 of 1,000,000 patients")
    assert plots.selection_note(total, total) == ""


def swimmer_rows(plot) -> int:
    """Bars drawn by a swimmer plot: the segments of its one line collection."""
    from matplotlib.collections import LineCollection

    figure = plot.draw()
    bars = [c for ax in figure.axes for c in ax.collections if isinstance(c, LineCollection)]
    return sum(len(c.get_segments()) for c in bars)


@pytest.mark.parametrize("max_patients", [7, 13])
def test_patient_level_figures_show_max_patients_and_say_so(
    cohort, tmp_path, monkeypatch, max_patients
):
    adsl, _, _ = cohort
    jobs = []
    monkeypatch.setattr(plots, "save_all", lambda todo, workers=1: jobs.extend(todo))
    index = make(cohort, tmp_path, figures={"max_patients": max_patients})
    titles = index.set_index("name")["title"]
    note = plots.selection_note(max_patients, len(adsl))
    assert note.startswith(f"{max_patients} of {len(adsl)} patients")
    assert titles["swimmer_all"].endswith(note)
    assert titles["nadir_imid"].endswith(note)
    assert note not in titles["km_pfs_all_all"]  # curves use every patient
    plot = {path.name: plot for plot, path, *_ in jobs}["swimmer_all"]
    assert plot.labels.subtitle == note
    assert swimmer_rows(plot) == max_patients
    nadir = {path.name: plot for plot, path, *_ in jobs}["nadir_imid"]
    points = [la for la in nadir.layers if type(la.geom).__name__ == "geom_point"][0]
    assert points._data[["site", "patient_id"]].drop_duplicates().shape[0] == max_patients  # noqa: SLF001
    again = []
    monkeypatch.setattr(plots, "save_all", lambda todo, workers=1: again.extend(todo))
    make(cohort, tmp_path / "again", figures={"max_patients": max_patients})
    rerun = {path.name: plot for plot, path, *_ in again}["swimmer_all"]
    assert rerun.labels.subtitle == note
    bars = lambda p: p.layers[0]._data["months"].tolist()  # noqa: E731, SLF001
    assert bars(rerun) == bars(plot)  # the same patients


def test_swimmer_size_is_bounded_and_shows_no_identifier(cohort):
    assert plots.swimmer_height(10**6) == plots.swimmer_height(10**3) <= 14
    adsl, _, _ = cohort
    swim = pd.DataFrame(
        {
            "months": adsl["last_followup_day"] / 30.4375,
            "response_month": np.nan,
            "progression_month": np.nan,
            "death_month": np.nan,
        }
    )
    figure = plots.swimmer_plot(swim, "t").draw()
    texts = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels() if t.get_visible()]
    assert not any(pid in " ".join(texts) for pid in adsl["patient_id"])


def test_km_x_axis_ends_with_the_last_follow_up_time(cohort):
    data = pfs_by_emd(cohort)
    built = plots.km_plot(plots.group_curves(data), "PFS by EMD").draw()
    top = max(built.axes, key=lambda ax: ax.get_position().y0)
    last = data["aval"].max()
    low, high = top.get_xlim()
    assert high == pytest.approx(last * 1.04, rel=1e-6)  # the limit plus the 4 % margin, no more
    assert max(t for t in top.get_xticks() if low <= t <= high) <= last


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "< 0.001"), (0.0497, "= 0.0497"), (0.0504, "= 0.050"), (0.23, "= 0.230")],
)
def test_p_labels_never_round_across_005(p, text):
    assert plots.p_label(p) == text


def _model():
    return pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": "OS",
            "model": "multivariable",
            "term": ["gfr_le70", "emd"],
            "hr": [5.52, np.nan],
            "ci_lower": [2.07, np.nan],
            "ci_upper": [14.76, np.nan],
            "p": [0.0004, np.nan],
            "n": 112,
            "events": 34,
            "n_dropped": 14,
            "n_0": [49, 98],
            "events_0": [5, 34],
            "n_1": [63, 14],
            "events_1": [29, 0],
        }
    )


def figure_texts(figure) -> set[str]:
    """Every text drawn in a matplotlib figure (titles, strips, labels, ticks, annotations)."""
    return {t.get_text() for t in figure.findobj(matplotlib.text.Text)}


def test_forest_rows_have_the_reference_level_and_counts_per_level():
    rows = plots.forest_rows(_model(), options_of())
    assert rows["level"].tolist() == ["no", "yes", "no", "yes"]
    assert rows["hr_text"].tolist() == [
        "reference",
        "5.52 (2.07–14.76)",
        "reference",
        "not estimable",
    ]
    assert rows[["n", "events"]].to_numpy().tolist() == [[49, 5], [63, 29], [98, 34], [14, 0]]
    assert rows["p_text"].tolist() == ["", "< 0.001", "", ""]


def test_forest_plot_has_headers_text_beside_the_panel_a_fitted_axis_and_the_global_tests():
    diagnostics = pd.DataFrame(
        {"statistic": ["lr", "concordance"], "value": [40.0, 0.8231], "p": [2e-7, np.nan]}
    )
    built = plots.forest_plot(_model(), "OS", options_of(), diagnostics).draw()
    texts = {t.get_text() for ax in built.axes for t in ax.texts}
    assert {"5.52 (2.07–14.76)", "reference", "not estimable", "63", "29"} <= texts
    forest = next(ax for ax in built.axes if len(ax.get_xticks()))
    assert "5.52 (2.07–14.76)" not in {t.get_text() for t in forest.texts}  # beside the HR panel
    low, high = forest.get_xlim()
    assert low < np.log10(1.0)
    assert np.log10(14.76) < high < np.log10(14.76) + 0.5  # fitted to the widest interval
    captions = " ".join(t.get_text() for t in built.texts)
    assert "global p (likelihood ratio) < 0.001" in captions
    assert "concordance 0.82" in captions
    assert len(built.axes) == len(plots.FOREST_COLUMNS)
    assert "HR (95% CI)" in figure_texts(built)  # a column header


def test_forest_plot_labels_follow_the_configuration():
    options = options_of(conf_level=0.9, gfr_cutoff=60)
    built = plots.forest_plot(_model(), "OS", options).draw()
    texts = figure_texts(built)
    assert {"HR (90% CI)", "GFR ≤ 60"} <= texts
    assert not any("95%" in t or "≤ 70" in t for t in texts)


def test_risk_table_rows_are_the_levels_and_the_legend_is_titled_by_the_shared_name(cohort):
    built = plots.km_plot(plots.group_curves(pfs_by_emd(cohort)), "PFS by EMD").draw()
    bottom = min(built.axes, key=lambda ax: ax.get_position().y0)
    assert {t.get_text() for t in bottom.get_yticklabels()} == {"no", "yes"}
    texts = {t.get_text() for t in built.findobj(lambda o: hasattr(o, "get_text"))}
    assert "EMD" in texts  # the legend's title: the name the groups share
    assert "EMD: no" not in texts


def test_km_plots_carry_a_p_value_only_for_prespecified_comparisons(cohort, tmp_path, monkeypatch):
    """emd is a primary comparison by default (a Cox covariate): its log-rank p is drawn; with
    no primary comparisons configured, no KM plot carries a p, and titles say exploratory."""
    drawn = {}
    real = plots.km_plot

    def spy(curves, title, **kwargs):
        drawn[title] = kwargs.get("p_value")
        return real(curves, title, **kwargs)

    monkeypatch.setattr(plots, "km_plot", spy)
    index = make(cohort, tmp_path).set_index("name")
    title = index.loc["km_os_all_emd", "title"]
    assert title.endswith("(prespecified)")
    assert drawn[title] == pytest.approx(0.0004)
    drawn.clear()
    index = make(cohort, tmp_path / "none", primary_comparisons=[]).set_index("name")
    title = index.loc["km_os_all_emd", "title"]
    assert title.endswith("(exploratory: no p value)")
    assert all(p is None for p in drawn.values())


def interaction_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "endpoint": "PFS",
            "variable": ["emd", "emd", "age_ge80"],
            "level": ["0", "1", "0"],
            "treatment": "Ixa-Rd vs Ixa-Pd",
            "n": [30, 10, 37],
            "events": [20, 2, 24],
            "hr": [1.5, np.nan, 0.8],
            "ci_lower": [0.7, np.nan, 0.4],
            "ci_upper": [3.2, np.nan, 1.6],
            "interaction_chisq": [2.0, 2.0, np.nan],
            "interaction_df": [1, 1, 0],
            "interaction_p": [0.157, 0.157, np.nan],
            "analysis": "exploratory",
            "note": ["", "not estimable: 2 events (fewer than 5)", "1 empty level dropped"],
        }
    )


def test_subgroup_forest_rows_put_the_interaction_p_on_each_subgroups_first_row():
    options = ReportOptions.from_config(with_schema_defaults({"sites": {"s": "s"}}))
    rows = plots.subgroup_forest_rows(interaction_rows(), options)
    assert rows["covariate"].tolist() == ["Extramedullary disease", "", "Age ≥ 80"]
    assert rows["level"].tolist() == ["no", "yes", "no"]
    assert rows["p_text"].tolist() == ["0.157", "", ""]
    assert rows["hr_text"].tolist()[1] == "not estimable"


def test_subgroup_forest_plot_is_drawn_per_endpoint(cohort, tmp_path):
    adsl, adtte, adlb = cohort
    sets = {"all": adsl}
    options = ReportOptions.from_config(with_schema_defaults({"sites": {"s": "s"}}))
    tables = figure_tables() | {"subgroup_interactions": interaction_rows()}
    tables["km_curves"] = km_curves(km_fits(adsl, adtte, sets, []))
    index = plots.make_figures(adsl, patient_nadirs(adlb), tables, sets, options, tmp_path)
    forest = index.set_index("name").loc["forest_subgroups_pfs"]
    assert forest["title"] == "Subgroup effects on PFS: Ixa-Rd vs Ixa-Pd"
    assert (tmp_path / f"{forest['file']}.png").stat().st_size > 10_000
    assert "forest_subgroups_os" not in set(index["name"])  # no OS rows
