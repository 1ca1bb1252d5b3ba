"""Publication figures with plotnine: one theme, the Okabe–Ito colour-blind-safe palette.

Every function takes analysis tables (and, where a distribution needs them, the analysis
datasets) and returns a ``plotnine.ggplot``; :func:`save` draws it once and writes PNG
(:data:`PNG_DPI` dpi) and SVG from the same matplotlib figure.

Nothing grows without bound with the number of patients: Kaplan–Meier curves have one step per
distinct time, and patient-level pictures (the swimmer plot, the nadir points) show at most
``figures.max_patients`` patients, a reproducible random sample stated in the figure and its
caption (:func:`sample_positions`, :func:`selection_note`).
"""

from __future__ import annotations

import multiprocessing
import re
import warnings
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from PIL import Image
from plotnine import (
    aes,
    coord_flip,
    element_blank,
    element_line,
    element_rect,
    element_text,
    facet_grid,
    facet_wrap,
    geom_blank,
    geom_boxplot,
    geom_col,
    geom_errorbar,
    geom_hline,
    geom_line,
    geom_point,
    geom_pointrange,
    geom_polygon,
    geom_ribbon,
    geom_segment,
    geom_step,
    geom_text,
    geom_vline,
    ggplot,
    labs,
    position_dodge,
    position_jitter,
    scale_color_manual,
    scale_fill_manual,
    scale_size_continuous,
    scale_x_continuous,
    scale_x_log10,
    scale_y_continuous,
    theme,
    theme_bw,
)

from rwe.catalog import FIGURE_KINDS, SELECTION_SEED
from rwe.derive import DAYS_PER_MONTH, KEYS
from rwe.labels import LAB_UNIT_DISPLAY, exposure_axis_label
from rwe.multiplicity import EXPLORATORY, PRESPECIFIED, is_prespecified
from rwe.options import ReportOptions
from rwe.response import CATEGORIES
from rwe.survival import KM_CURVE_COLUMNS, km_curve, km_quantile
from rwe.survival_tables import DAY_ZERO_BIASED

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
RESPONSE_COLOURS = dict(
    zip(
        [*CATEGORIES, "NE"],
        ["#084594", "#2171B5", "#4292C6", "#6BAED6", "#C6DBEF", "#FDD49E", "#D7301F", "#BDBDBD"],
        strict=True,
    )
)
#: CTCAE v5 grade-3 thresholds of the nadir counts.
GRADE3 = {"ANC": 1.0, "WBC": 2.0, "PLT": 50.0, "HGB": 8.0}


#: Resolution of the PNG files: above DESIGN's 150 dpi floor, sharp in print; SVG is the vector copy.
PNG_DPI = 200
FAST_OCTREE = Image.Quantize.FASTOCTREE
#: SVG text stays text (editable in a journal's tools, a third faster to write, smaller); the
#: ids of clip paths come from a fixed salt, not a random one, so a re-run writes the same bytes.
SVG_TEXT = {"svg.fonttype": "none", "svg.hashsalt": "rwe"}
#: No date in the SVG (matplotlib writes the time of drawing): identical figures, identical files.
SVG_METADATA = {"Date": None}


def sample_positions(n_total: int, max_patients: int, seed: int = SELECTION_SEED) -> np.ndarray:
    """Positions (sorted) of the patients a patient-level figure shows.

    All ``n_total`` when there are at most ``max_patients``; otherwise a simple random sample of
    exactly ``max_patients`` without replacement, ``numpy.random.default_rng(seed).choice``. The
    same patients in the same order (callers sort by site and patient id) give the same sample.
    """
    if n_total <= max_patients:
        return np.arange(n_total)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=max_patients, replace=False))


def selection_note(shown: int, total: int, seed: int = SELECTION_SEED) -> str:
    """``50 of 2,000 patients, a random sample (seed 2026)``; empty when every patient is shown."""
    if shown >= total:
        return ""
    return f"{shown:,} of {total:,} patients, a random sample (seed {seed})"


def rwe_theme():
    """The one theme of every figure: white background, light grid, readable sizes."""
    return theme_bw(base_size=10) + theme(
        panel_grid_minor=element_blank(),
        panel_grid_major=element_line(color="#e5e5e5", size=0.4),
        panel_border=element_rect(color="#555555", size=0.6),
        legend_position="top",
        legend_title=element_blank(),
        plot_title=element_text(size=11, weight="bold"),
        strip_background=element_rect(fill="#f0f0f0"),
    )


def month_breaks(max_month: float) -> list[float]:
    """Sensible month ticks: every 3, 6, 12 or 24 months depending on follow-up."""
    step = next((s for s in (3, 6, 12, 24) if max_month / s <= 10), 48)
    return list(np.arange(0, max_month + step, step))


def _step_band(steps: pd.DataFrame) -> pd.DataFrame:
    """CI limits as a step function: each point repeated at the next time, per group."""
    band = steps.reset_index(drop=True)
    band["order"] = 2 * np.arange(len(band))
    ends = band.assign(time=band.groupby("group")["time"].shift(-1), order=band["order"] + 1)
    return pd.concat([band, ends]).dropna(subset=["time"]).sort_values(["group", "order"])


#: Points of the numbers at risk and the other texts of a KM plot: still 7 pt when the figure is
#: printed at half its width (two panels side by side in a journal column).
RISK_TEXT_SIZE = 11
#: Colour key of the black texts of a KM plot (not a group: left out of the legend).
TEXT_KEY = " "


def group_curves(
    data: pd.DataFrame, conf_type: str = "log", conf_level: float = 0.95
) -> pd.DataFrame:
    """Kaplan–Meier curve of each group of patient rows, in the long layout :func:`km_plot` reads.

    Parameters
    ----------
    data : pandas.DataFrame
        ``aval`` (months), ``event`` (1/0) and ``group``.
    conf_type, conf_level
        As :func:`rwe.survival.km_curve`.

    Returns
    -------
    pandas.DataFrame
        ``group`` and the columns of :func:`rwe.survival.km_curve` (as ``adam/km_curves.csv``).
    """
    parts = [
        km_curve(part["aval"], part["event"], conf_type, conf_level).assign(group=g)
        for g, part in data.groupby("group", sort=True)
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["group", *KM_CURVE_COLUMNS])
    return pd.concat(parts, ignore_index=True)[["group", *KM_CURVE_COLUMNS]]


def group_sizes(curves: pd.DataFrame) -> pd.Series:
    """Patients in each group of a curve frame: the number at risk at its first time."""
    return curves.sort_values("time").groupby("group", sort=True)["n_risk"].first().astype(int)


def risk_table(curves: pd.DataFrame, breaks: list[float], min_cell_count: int = 0) -> pd.DataFrame:
    """Numbers at risk (time ≥ t) of each group at each x-axis break, as survminer's risk table.

    Read from the curves: at a break t, the number at risk of the first curve time ≥ t (no one
    leaves between t and that time), or 0 after the last time.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``group, time, n_risk`` (:func:`group_curves` or ``adam/km_curves.csv``).
    breaks : list of float
        The months at which to count.
    min_cell_count : int
        Counts from 1 to k − 1 are shown as ``<k``.

    Returns
    -------
    pandas.DataFrame
        ``group, time, n, label`` (label is the text shown).
    """
    rows = []
    for group, part in curves.sort_values("time").groupby("group", sort=True):
        times, at_risk = part["time"].to_numpy(float), part["n_risk"].to_numpy(int)
        first = np.searchsorted(times, np.asarray(breaks, dtype=float), side="left")
        for b, i in zip(breaks, first, strict=True):
            n = int(at_risk[i]) if i < len(times) else 0
            shown = f"<{min_cell_count}" if 0 < n < min_cell_count else str(n)
            rows.append((group, b, n, shown))
    # Typed when empty too (no curve: a cohort without events), so that scales stay continuous.
    table = pd.DataFrame(rows, columns=["group", "time", "n", "label"])
    return table.astype({"group": object, "time": float, "n": int, "label": object})


def _shared_prefix(groups: list[str]) -> tuple[str, dict[str, str]]:
    """The name all groups share before ``": "`` and each group's level (``{}`` when none)."""
    heads = {g.rpartition(": ")[0] for g in groups}
    if len(heads) != 1 or "" in heads:
        return "", {g: g for g in groups}
    return heads.pop(), {g: g.rpartition(": ")[2] for g in groups}


def km_plot(
    curves: pd.DataFrame,
    title: str,
    group_label: str | None = None,
    ci_bands: bool = True,
    p_value: float | None = None,
    endpoint: str = "",
    conf_level: float = 0.95,
    min_cell_count: int = 0,
) -> ggplot:
    """Kaplan–Meier curves with a numbers-at-risk table aligned under the x-axis.

    As survminer's ``ggsurvplot(fit, risk.table = TRUE, conf.int = TRUE, surv.median.line = "hv",
    pval = TRUE)`` on R ``survfit(Surv(aval, event) ~ group)``: step curves, censor marks (+),
    pointwise CI bands, dashed drop lines at each median (R ``quantile.survfit``), the log-rank p,
    and below the curves one row of numbers at risk per group at every x-axis break. Both parts are
    facets of one plot, so the numbers sit exactly under the ticks.

    Drawn from curves, not patients: one step and at most one censor mark per distinct time, so
    the figure does not grow with the number of patients.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``group`` (label of each curve) and the columns of :func:`rwe.survival.km_curve`
        (``time, n_risk, n_censor, surv, ci_lower, ci_upper``), as :func:`group_curves` or
        ``adam/km_curves.csv``; the CI type is the one the curves were computed with.
    title : str
        Figure title.
    group_label : str, optional
        Legend title for the groups.
    ci_bands : bool
        Draw pointwise CI bands.
    p_value : float, optional
        Log-rank p (R ``survdiff``), printed on the plot.
    endpoint : str
        ``PFS`` or ``OS``, for the y-axis title.
    conf_level : float
        Confidence level of the bands (for the subtitle).
    min_cell_count : int
        Numbers at risk from 1 to k − 1 are shown as ``<k``.

    Returns
    -------
    plotnine.ggplot
    """
    curves = curves.sort_values(["group", "time"])
    groups = sorted(curves["group"].unique())  # the legend's order ("…: no" before "…: yes")
    colours = dict(zip(groups, OKABE_ITO, strict=False))
    # The x-axis ends with the last follow-up time, where the numbers at risk reach zero.
    max_month = float(curves["time"].max()) if len(curves) else 1.0
    breaks = [b for b in month_breaks(max_month) if b <= max_month]
    steps, medians = [], []
    for g in groups:
        curve = curves[curves["group"] == g]
        start = pd.DataFrame({"time": [0.0], "surv": [1.0], "ci_lower": [1.0], "ci_upper": [1.0]})
        steps.append(
            pd.concat(
                [start, curve[["time", "surv", "ci_lower", "ci_upper"]]], ignore_index=True
            ).assign(group=g)
        )
        median = km_quantile(curve.reset_index(drop=True), 0.5)[0] if len(curve) else np.nan
        if np.isfinite(median):
            medians.append((g, median))
    steps = pd.concat(steps).assign(panel="curve")
    cens = curves.loc[curves["n_censor"] > 0, ["time", "surv", "group"]].assign(panel="curve")
    # Risk rows sit at y = -1, -2, … in their own facet; y labels are the group names.
    row_of = {g: -(i + 1) for i, g in enumerate(groups)}
    risk = risk_table(curves, breaks, min_cell_count)
    risk = risk.assign(y=risk["group"].map(row_of), panel="risk")
    # "GFR ≤ 70: no" / "GFR ≤ 70: yes": the shared name titles the legend, and the levels
    # label the rows of the risk table and the keys (short, so the numbers keep the width).
    prefix, short = _shared_prefix(groups)
    group_label = group_label or prefix or None
    names = {v: short[g] for g, v in row_of.items()}

    def y_breaks(limits):
        return [0, 0.25, 0.5, 0.75, 1.0] if limits[1] > 0.5 else sorted(names)

    def y_labels(values):
        return [names.get(v, "") if v < 0 else f"{100 * v:.0f}" for v in values]

    # Invisible points fix each facet's y range (free scales).
    frame = pd.DataFrame(
        {
            "panel": ["curve", "risk", "curve", "risk"],
            "time": 0.0,
            "y": [1.02, -(len(groups) + 0.5), -0.02, 0.0],
        }
    )
    # Every text in one layer (one layer less to build and draw per text kind): the numbers at
    # risk in their group's colour, the heading and the log-rank p in black.
    texts = [
        risk.assign(ha="center", fontweight="normal"),
        pd.DataFrame(
            {
                "panel": ["risk"],
                "time": [0.0],
                "y": [-0.25],
                "label": ["Number at risk"],
                "group": [TEXT_KEY],
                "ha": ["left"],
                "fontweight": ["bold"],
            }
        ),
    ]
    if p_value is not None and np.isfinite(p_value):
        text = f"Log-rank p {p_label(p_value)}"
        texts.append(
            pd.DataFrame(
                {
                    "panel": ["curve"],
                    "time": [max_month],
                    "y": [0.95],
                    "label": [text],
                    "group": [TEXT_KEY],
                    "ha": ["right"],
                    "fontweight": ["normal"],
                }
            )
        )
    grid = pd.DataFrame({"panel": "curve", "y": [0.25, 0.5, 0.75, 1.0]})
    plot = ggplot() + rwe_theme()
    plot += geom_hline(grid, aes(yintercept="y"), color="#e5e5e5", size=0.4)
    plot += geom_blank(frame, aes("time", "y"))
    if ci_bands:
        band = aes("time", ymin="ci_lower", ymax="ci_upper", fill="group")
        plot += geom_ribbon(
            _step_band(steps), band, alpha=0.15, outline_type="full", show_legend=False
        )
    plot += geom_step(steps, aes("time", "surv", color="group"), size=0.8)
    if len(cens):
        plot += geom_point(
            cens, aes("time", "surv", color="group"), shape="+", size=2.6, show_legend=False
        )
    if medians:  # dashed drop lines: across at 50% to the median, then down to the axis
        m = pd.DataFrame(medians, columns=["group", "median"])
        across = m.assign(x=0.0, xend=m["median"], y=0.5, yend=0.5)
        down = m.assign(x=m["median"], xend=m["median"], y=0.0, yend=0.5)
        plot += geom_segment(
            pd.concat([across, down]).assign(panel="curve"),
            aes(x="x", xend="xend", y="y", yend="yend", color="group"),
            linetype="dashed",
            size=0.4,
            show_legend=False,
        )
    words = aes("time", "y", label="label", color="group", ha="ha", fontweight="fontweight")
    plot += geom_text(
        pd.concat(texts, ignore_index=True), words, size=RISK_TEXT_SIZE, show_legend=False
    )
    plot += facet_grid(
        "panel ~ .", scales="free_y", space={"x": [1], "y": [4, 0.4 + 0.5 * len(groups)]}
    )
    plot += scale_y_continuous(breaks=y_breaks, labels=y_labels, expand=(0, 0))
    plot += scale_x_continuous(breaks=breaks, limits=(0, max_month), expand=(0.04, 0))
    keys = [short[g] for g in groups]
    plot += scale_color_manual(values={**colours, TEXT_KEY: "#000000"}, breaks=groups, labels=keys)
    plot += scale_fill_manual(values=colours, breaks=groups, labels=keys)
    plot += theme(
        strip_text_y=element_blank(),
        strip_background_y=element_blank(),
        panel_grid_major_y=element_blank(),
        panel_spacing_y=0.015,
        axis_text=element_text(size=RISK_TEXT_SIZE),
        axis_title=element_text(size=RISK_TEXT_SIZE + 1),
        legend_text=element_text(size=RISK_TEXT_SIZE),
    )
    if len(groups) == 1:
        plot += theme(legend_position="none")
    elif group_label:
        key_title = element_text(size=RISK_TEXT_SIZE, weight="bold", margin={"r": 8, "units": "pt"})
        plot += theme(legend_title=key_title)
    plot += labs(
        x="Months since start of ixazomib",
        y=f"{endpoint or 'Survival'} probability (%)",
        title=title,
        subtitle="+ censored; dashed: median"
        + (f"; band: {100 * conf_level:g}% CI" if ci_bands else ""),
        color=group_label,
        fill=group_label,
    )
    return plot


def p_label(p: float) -> str:
    """A p value for a figure: ``< 0.001``, else three decimals, never rounded across 0.05."""
    if p < 0.001:
        return "< 0.001"
    text = f"{p:.3f}"
    if (p < 0.05) != (float(text) < 0.05):  # 0.0497 would print as 0.050
        text = f"{p:.4f}"
    return f"= {text}"


#: Columns of the forest plot: name, width, and whether the column holds text (else the HRs).
#: "HR (CI)" is headed with the configured level (:func:`forest_plot`).
FOREST_COLUMNS = [
    ("Covariate", 2.1, True),
    ("Level", 0.75, True),
    ("N", 0.55, True),
    ("Events", 0.7, True),
    ("Hazard ratio (log scale)", 3.2, False),
    ("HR (CI)", 1.6, True),
    ("p", 0.8, True),
]
#: Where the text columns sit on the x-axis (far from any log10 HR, so their breaks are empty).
_TEXT_X = 100.0


def _log_breaks(limits) -> list[float]:
    """Log10 positions of 1-2-5 ticks inside ``limits`` (none in a text column)."""
    if limits[0] >= _TEXT_X / 2:
        return []
    ticks = [m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5)]
    if sum(limits[0] <= np.log10(t) <= limits[1] for t in ticks) > 7:
        ticks = ticks[::3]  # powers of ten only
    return [np.log10(t) for t in ticks if limits[0] <= np.log10(t) <= limits[1]]


def forest_rows(cox: pd.DataFrame, options: ReportOptions) -> pd.DataFrame:
    """The rows of a forest plot of one Cox model, as ``survminer::ggforest`` lays them out.

    A 0/1 term has two rows: its reference level (``no``) with its patients and events, and the
    level ``yes`` with the HR, its CI and p; a term that is not estimable says so. Covariates
    are named by ``options.label``.

    Returns
    -------
    pandas.DataFrame
        ``covariate, level, n, events, hr, ci_lower, ci_upper, hr_text, p_text``, top first.
    """
    rows = []
    for r in cox.to_dict("records"):
        name = options.label(r["term"])
        estimable = not pd.isna(r["hr"])
        hr_text = _hr_text(r["hr"], r["ci_lower"], r["ci_upper"]) if estimable else "not estimable"
        p_text = p_label(r["p"]).removeprefix("= ") if estimable else ""
        estimate = (r["hr"], r["ci_lower"], r["ci_upper"]) if estimable else (np.nan,) * 3
        if not pd.isna(r.get("n_0", np.nan)):
            rows.append(
                (name, "no", r["n_0"], r["events_0"], np.nan, np.nan, np.nan, "reference", "")
            )
            rows.append(("", "yes", r["n_1"], r["events_1"], *estimate, hr_text, p_text))
        else:
            rows.append((name, "", r["n"], r["events"], *estimate, hr_text, p_text))
    columns = [
        "covariate",
        "level",
        "n",
        "events",
        "hr",
        "ci_lower",
        "ci_upper",
        "hr_text",
        "p_text",
    ]
    return pd.DataFrame(rows, columns=columns)


def _forest_panel(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` placed in one column (facet) of the forest plot."""
    names = [name for name, _, _ in FOREST_COLUMNS]
    return frame.assign(panel=pd.Categorical([column] * len(frame), categories=names))


def _forest_texts(rows: pd.DataFrame) -> pd.DataFrame:
    """The text columns of the forest plot, one row per cell."""
    whole = lambda v: "" if pd.isna(v) else f"{int(v)}"  # noqa: E731
    level = rows["level"].where(rows["hr_text"] != "reference", rows["level"] + " (ref.)")
    cells = {
        "Covariate": (rows["covariate"], "left"),
        "Level": (level, "left"),
        "N": (rows["n"].map(whole), "right"),
        "Events": (rows["events"].map(whole), "right"),
        "HR (CI)": (rows["hr_text"], "left"),
        "p": (rows["p_text"], "left"),
    }
    parts = [
        _forest_panel(
            pd.DataFrame(
                {"x": _TEXT_X + (ha == "right"), "y": rows["y"], "label": values, "ha": ha}
            ),
            name,
        )
        for name, (values, ha) in cells.items()
    ]
    return pd.concat(parts, ignore_index=True)


def forest_plot(
    cox: pd.DataFrame, title: str, options: ReportOptions, diagnostics: pd.DataFrame | None = None
) -> ggplot:
    """Forest plot of a Cox model, as ``survminer::ggforest``: one row per level, HRs on a log axis.

    Columns: the covariate and its level (``no`` is the reference), patients and events per
    level among the complete cases, the HR with its CI on a log axis fitted to the intervals
    (reference line at 1), and the HR (CI) and p as text beside the panel. The caption
    gives the events and patients of the model, the global likelihood-ratio p and the
    concordance (R ``summary(coxph)``), from ``cox_diagnostics.csv``.

    Parameters
    ----------
    cox : pandas.DataFrame
        The rows of ``cox.csv`` of one model (one set, endpoint and model), with
        ``n_0, events_0, n_1, events_1``.
    title : str
        Figure title.
    options : rwe.options.ReportOptions
        Its ``conf_level`` heads the HR column and ``label`` names the covariates.
    diagnostics : pandas.DataFrame, optional
        The rows of ``cox_diagnostics.csv`` of the same model (``statistic`` lr, concordance).
    """
    caption = _forest_caption(cox, diagnostics)
    return _forest_figure(forest_rows(cox, options), title, options, caption)


def _forest_figure(
    rows: pd.DataFrame,
    title: str,
    options: ReportOptions,
    caption: str,
    headers: dict[str, str] | None = None,
) -> ggplot:
    """The forest plot of ``rows`` (:func:`forest_rows`' columns); ``headers`` renames columns."""
    names = {"HR (CI)": f"HR ({options.ci})", **(headers or {})}
    rows = rows.copy()
    rows["y"] = np.arange(len(rows), 0, -1, dtype=float)
    forest = next(name for name, _, text in FOREST_COLUMNS if not text)
    limits = pd.concat([rows["ci_lower"], rows["ci_upper"], pd.Series([1.0])])
    limits = np.log10(limits[np.isfinite(limits) & (limits > 0)])
    pad = max(0.08 * (limits.max() - limits.min()), 0.05)
    low, high = max(limits.min() - pad, -3), min(limits.max() + pad, 3)
    shown = rows.dropna(subset=["hr"])
    with np.errstate(divide="ignore"):  # a limit of 0 or infinity is clipped to the axis
        shown = _forest_panel(
            shown.assign(
                x=np.log10(shown["hr"]).clip(low, high),
                lo=np.log10(shown["ci_lower"]).clip(low, high),
                hi=np.log10(shown["ci_upper"]).clip(low, high),
            ),
            forest,
        )
    height = (0.4, len(rows) + 0.6)
    ranges = pd.concat(
        _forest_panel(
            pd.DataFrame({"x": (_TEXT_X, _TEXT_X + 1) if text else (low, high), "y": height}), name
        )
        for name, _, text in FOREST_COLUMNS
    )
    separators = rows.loc[rows["covariate"] != "", ["y"]].iloc[1:] + 0.5  # in every column
    plot = ggplot() + geom_blank(ranges, aes("x", "y"))
    one = _forest_panel(pd.DataFrame({"x": [0.0]}), forest)  # log10(1): no effect
    plot += geom_vline(one, aes(xintercept="x"), linetype="dashed", color="#777777")
    plot += geom_hline(separators, aes(yintercept="y"), color="#dddddd", size=0.3)
    if len(shown):
        plot += geom_segment(
            shown, aes(x="lo", xend="hi", y="y", yend="y"), color=OKABE_ITO[0], size=0.7
        )
        plot += geom_point(shown, aes("x", "y"), shape="s", size=2.6, color=OKABE_ITO[0])
    # One baseline for every text of a row (centring would move a word with descenders up).
    words = _forest_texts(rows).assign(y=lambda d: d["y"] - 0.12)
    plot += geom_text(words, aes("x", "y", label="label", ha="ha"), va="baseline", size=9)
    plot += facet_grid(
        ". ~ panel",
        scales="free_x",
        space={"x": [w for _, w, _ in FOREST_COLUMNS], "y": [1]},
        labeller=lambda name: names.get(name, name),
    )
    plot += scale_x_continuous(
        breaks=_log_breaks, labels=lambda v: [f"{10**x:g}" for x in v], expand=(0, 0)
    )
    plot += scale_y_continuous(expand=(0, 0))
    plot += rwe_theme() + theme(
        axis_text_y=element_blank(),
        axis_ticks_major_y=element_blank(),
        panel_border=element_blank(),
        panel_grid_major=element_blank(),
        strip_background=element_blank(),
        strip_text_x=element_text(weight="bold", size=9),
        panel_spacing_x=0.0,
        plot_caption=element_text(size=8.5),
    )
    return plot + labs(x="", y="", title=title, caption=caption)


def subgroup_forest_rows(interactions: pd.DataFrame, options: ReportOptions) -> pd.DataFrame:
    """The rows of a subgroup forest plot: per subgroup its levels, each with the treatment HR.

    The interaction p (likelihood ratio, :func:`rwe.subgroups.interaction_test`) is on the
    first row of its subgroup; a level's HR that is not estimable says so. Empty levels are not
    in ``interactions`` (dropped and counted there).
    """
    rows = []
    for variable, part in interactions.groupby("variable", sort=False):
        for i, r in enumerate(part.to_dict("records")):
            estimable = not pd.isna(r["hr"])
            hr_text = (
                _hr_text(r["hr"], r["ci_lower"], r["ci_upper"]) if estimable else "not estimable"
            )
            p = r["interaction_p"]
            p_text = p_label(p).removeprefix("= ") if i == 0 and not pd.isna(p) else ""
            level = {"1": "yes", "0": "no"}.get(str(r["level"]), str(r["level"]))
            estimate = (r["hr"], r["ci_lower"], r["ci_upper"]) if estimable else (np.nan,) * 3
            name = options.label(variable) if i == 0 else ""
            rows.append((name, level, r["n"], r["events"], *estimate, hr_text, p_text))
    columns = ["covariate", "level", "n", "events", "hr", "ci_lower", "ci_upper"]
    return pd.DataFrame(rows, columns=[*columns, "hr_text", "p_text"])


def subgroup_forest_plot(interactions: pd.DataFrame, title: str, options: ReportOptions) -> ggplot:
    """Forest plot of a treatment's HR within subgroup levels, with each interaction test's p.

    ``interactions``: the rows of ``subgroup_interactions.csv`` of one endpoint. The caption
    says what the p values are (likelihood-ratio tests of the interaction, not tests within a
    level) and that the analysis is exploratory unless prespecified.
    """
    treatment = interactions["treatment"].iloc[0] if len(interactions) else ""
    empty = (
        interactions.drop_duplicates("variable")["note"]
        .fillna("")
        .str.extract(r"(\d+) empty level", expand=False)
    )
    dropped = int(pd.to_numeric(empty, errors="coerce").fillna(0).sum())
    caption = (
        f"HR of {treatment} within each level (Wald {options.ci}, {options.ties}). p*: "
        "likelihood-ratio test of the treatment × subgroup interaction.\n"
        "Exploratory unless a primary comparison; not adjusted for multiplicity."
        + (f" Empty levels dropped: {dropped}." if dropped else "")
    )
    rows = subgroup_forest_rows(interactions, options)
    headers = {"Covariate": "Subgroup", "p": "p*"}
    return _forest_figure(rows, title, options, caption, headers)


def _forest_caption(cox: pd.DataFrame, diagnostics: pd.DataFrame | None) -> str:
    """``34 events, 112 patients; global p (likelihood ratio) < 0.001; concordance 0.78``."""
    if cox.empty:
        return ""
    first = cox.iloc[0]
    parts = [f"{int(first['events'])} events, {int(first['n'])} patients"]
    dropped = first.get("n_dropped", 0)
    if not pd.isna(dropped) and int(dropped):
        parts[0] += f" ({int(dropped)} with a missing covariate left out)"
    if diagnostics is not None and len(diagnostics):
        stat = diagnostics.set_index("statistic")
        if "lr" in stat.index and not pd.isna(stat.loc["lr", "p"]):
            parts.append(f"global p (likelihood ratio) {p_label(float(stat.loc['lr', 'p']))}")
        if "concordance" in stat.index and not pd.isna(stat.loc["concordance", "value"]):
            parts.append(f"concordance {float(stat.loc['concordance', 'value']):.2f}")
    return "; ".join(parts)


#: metafor ``method`` of a pooled row of ``site_meta.csv`` -> its label in the meta forest plot.
POOLED_LABELS = {"FE": "Fixed effect", "DL": "Random effects (DL)", "REML": "Random effects (REML)"}
#: metafor ``test`` of a pooled row -> the suffix of its label (Wald z is the default, unsaid).
POOLED_TESTS = {"z": "", "knha": ", Hartung–Knapp"}
SENSITIVITY_FILL = "#999999"


def _hr_text(hr, lower, upper) -> str:
    return f"{hr:.2f} ({lower:.2f}–{upper:.2f})"


def _pooled_plot_label(r) -> str:
    """``Prespecified: Random effects (REML), Hartung–Knapp`` or ``Sensitivity: Fixed effect``."""
    test = r.get("test")
    name = POOLED_LABELS.get(r["method"], r["method"]) + POOLED_TESTS.get(
        test if isinstance(test, str) else "z", f", {test}"
    )
    role = r.get("role")
    return f"{role.capitalize()}: {name}" if isinstance(role, str) and role else name


def _bound(v, digits: int) -> str:
    return "undefined" if pd.isna(v) else f"{v:.{digits}f}"


def _heterogeneity_caption(row) -> str:
    """Q, I² and τ² of the prespecified pooled row, with their Q-profile CIs where they exist."""
    q_text = "p < 0.001" if row["q_p"] < 0.001 else f"p = {row['q_p']:.3f}"
    parts = [f"Q = {row['q']:.2f} ({q_text})", f"I² = {row['i2']:.0f}%"]
    if pd.notna(row.get("i2_ci_lower")) or pd.notna(row.get("i2_ci_upper")):
        lo, hi = _bound(row.get("i2_ci_lower"), 0), _bound(row.get("i2_ci_upper"), 0)
        parts[-1] += f" (CI {lo}–{hi})"
    if row["method"] != "FE":
        tau2 = f"τ² = {row['tau2']:.3f}"
        if pd.notna(row.get("tau2_ci_lower")) or pd.notna(row.get("tau2_ci_upper")):
            lo, hi = _bound(row.get("tau2_ci_lower"), 3), _bound(row.get("tau2_ci_upper"), 3)
            tau2 += f" (CI {lo}–{hi})"
        parts.append(tau2)
    parts.append(f"k = {int(row['k'])} sites")
    return "; ".join(parts)


def meta_forest_plot(meta: pd.DataFrame, title: str, min_cell_count: int = 0) -> ggplot:
    """Per-site forest plot of one endpoint and covariate with the pooled estimates as diamonds.

    Parameters
    ----------
    meta : pandas.DataFrame
        The rows of ``site_meta.csv`` of one endpoint and term: one per site (``method``
        empty), then the pooled rows (``role`` prespecified first, then the sensitivity
        analyses).
    title : str
        Plot title.
    min_cell_count : int
        A site with fewer patients or events than this is listed without its estimate.

    Returns
    -------
    plotnine.ggplot
        Each site's HR and CI (a square sized by its weight in the prespecified analysis, as
        metafor ``weights()``; a site left out of the pooling is listed with the reason), the prespecified pooled estimate as a filled
        diamond with its prediction interval as a dotted line through it (as metafor's
        ``forest(addpred = TRUE)``), the sensitivity estimates as grey diamonds, log scale,
        reference line at 1; Q, I² and τ² (with their Q-profile CIs) of the prespecified
        analysis in the caption.
    """
    method = meta["method"].fillna("").astype(str)
    per_site, pooled = meta[method == ""].copy(), meta[method != ""].copy()
    if "role" not in pooled:
        pooled["role"] = ""
    # Squares and percentages: each site's weight in the prespecified analysis.
    first = pooled[pooled["role"] != "sensitivity"]["method"]
    weight_name = f"weight_{first.iloc[0].lower()}" if len(first) else "weight_fe"
    if weight_name not in per_site or per_site[weight_name].isna().all():
        weight_name = "weight_fe"
    per_site["weight"] = per_site[weight_name]
    pooled["label"] = [_pooled_plot_label(r) for r in pooled.to_dict("records")]
    pooled["fill"] = np.where(pooled["role"] == "sensitivity", "sensitivity", "prespecified")
    labels = [*per_site["site"].astype(str), *pooled["label"]]
    y = {name: float(len(labels) - i) for i, name in enumerate(labels)}
    small = (per_site["n"] < min_cell_count) | (per_site["events"] < min_cell_count)
    shown = per_site[per_site["hr"].notna() & ~small].assign(
        y=lambda d: d["site"].astype(str).map(y)
    )
    texts = [
        "suppressed (small site)"
        if is_small
        else (
            "left out of the pooling"
            if np.isnan(r.hr)
            else _hr_text(r.hr, r.ci_lower, r.ci_upper) + f"  {r.weight:.0f}%"
        )
        for r, is_small in zip(per_site.itertuples(), small, strict=True)
    ]
    for r in pooled.to_dict("records"):
        if pd.isna(r["hr"]):
            texts.append("not estimable")
            continue
        line = _hr_text(r["hr"], r["ci_lower"], r["ci_upper"])
        if r["fill"] == "prespecified" and pd.notna(r.get("pi_lower")):
            line += f"; PI {r['pi_lower']:.2f}–{r['pi_upper']:.2f}"
        texts.append(line)
    estimable = pooled[pooled["hr"].notna()]
    spans = [shown[["ci_lower", "ci_upper"]], estimable[["ci_lower", "ci_upper"]]]
    predicted = estimable[(estimable["fill"] == "prespecified")]
    if "pi_lower" in predicted:
        predicted = predicted[predicted["pi_lower"].notna()].assign(y=lambda d: d["label"].map(y))
        spans.append(predicted[["pi_lower", "pi_upper"]].set_axis(["ci_lower", "ci_upper"], axis=1))
    else:
        predicted = predicted.iloc[0:0].assign(y=[], pi_lower=[], pi_upper=[])
    limits = pd.concat(spans)
    low = max(min(float(limits["ci_lower"].min()), 0.5) * 0.8, 1e-3) if len(limits) else 0.5
    top = min(max(float(limits["ci_upper"].max()), 2.0), 1e3) if len(limits) else 2.0
    text = pd.DataFrame({"y": [y[n] for n in labels[: len(texts)]], "text": texts, "x": top * 1.6})
    diamonds = pd.DataFrame(
        [
            (r.label, r.fill, x, y[r.label] + dy)
            for r in estimable.itertuples()
            for x, dy in ((r.ci_lower, 0), (r.hr, 0.3), (r.ci_upper, 0), (r.hr, -0.3))
        ],
        columns=["label", "fill", "x", "y"],
    )
    main = estimable[estimable["fill"] == "prespecified"]
    weight_label = {"weight_fe": "fixed-effect", "weight_dl": "DL", "weight_reml": "REML"}
    caption = f"%: {weight_label[weight_name]} weight"
    if len(main):
        caption += "; PI: prediction interval (dotted). " + _heterogeneity_caption(
            main.iloc[0].to_dict()
        )
    plot = (
        ggplot()
        + geom_vline(xintercept=1, linetype="dashed", color="#777777")
        + geom_segment(
            shown, aes(x="ci_lower", xend="ci_upper", y="y", yend="y"), color=OKABE_ITO[0]
        )
        + geom_segment(
            predicted,
            aes(x="pi_lower", xend="pi_upper", y="y", yend="y"),
            linetype="dotted",
            color=OKABE_ITO[1],
            size=0.8,
        )
        + geom_point(shown, aes(x="hr", y="y", size="weight"), shape="s", color=OKABE_ITO[0])
        + geom_polygon(diamonds, aes(x="x", y="y", group="label", fill="fill"))
        + scale_fill_manual(
            values={"prespecified": OKABE_ITO[1], "sensitivity": SENSITIVITY_FILL}, guide=None
        )
        + geom_text(text, aes(x="x", y="y", label="text"), ha="left", size=8)
        + scale_size_continuous(range=(1, 6), limits=(0, 100), guide=None)
        + scale_x_log10(limits=(low, top * 12))
        + scale_y_continuous(
            breaks=[y[n] for n in labels], labels=labels, limits=(0.5, len(labels) + 0.5)
        )
        + rwe_theme()
        + labs(x="Hazard ratio (log scale)", y="", title=title, caption=caption)
    )
    return plot


def response_groups(response: pd.DataFrame, options: ReportOptions) -> list[str]:
    """Row labels of a response table: ``All patients (n = 120)``, ``Second line: yes (n = 27)``."""
    names = [
        "All patients" if v == "all" else f"{options.label(v)}: {'yes' if str(lv) == '1' else 'no'}"
        for v, lv in zip(response["variable"], response["level"], strict=True)
    ]
    return [f"{g} (n = {int(n)})" for g, n in zip(names, response["n_evaluable"], strict=True)]


def response_bar_plot(response: pd.DataFrame, title: str, options: ReportOptions) -> ggplot:
    """Best response distribution (stacked, % of evaluable) overall and by subgroup level."""
    data = response.copy()
    data["group"] = response_groups(data, options)
    long = data.melt(
        id_vars=["group", "n_evaluable"], value_vars=CATEGORIES, var_name="category", value_name="n"
    )
    long["percent"] = 100 * long["n"] / long["n_evaluable"].replace(0, np.nan)
    long["category"] = pd.Categorical(
        long["category"], categories=list(reversed(CATEGORIES)), ordered=True
    )
    long["group"] = pd.Categorical(
        long["group"], categories=list(reversed(list(dict.fromkeys(data["group"])))), ordered=True
    )
    return (
        ggplot(long, aes(x="group", y="percent", fill="category"))
        + geom_col(width=0.75)
        + coord_flip()
        + scale_fill_manual(values=RESPONSE_COLOURS, breaks=CATEGORIES)
        + rwe_theme()
        + labs(x="", y="% of evaluable patients", title=title)
    )


def rate_plot(response: pd.DataFrame, title: str, options: ReportOptions) -> ggplot:
    """ORR and CBR with exact CIs (``options.conf_level``), overall and by subgroup level."""
    data = response.copy()
    data["group"] = response_groups(data, options)
    long = pd.concat(
        data.assign(
            measure=name,
            rate=data[rate],
            lo=data[f"{rate}_ci_lower"],
            hi=data[f"{rate}_ci_upper"],
        )
        for rate, name in (("orr", "ORR (≥ PR)"), ("cbr", "CBR (≥ MR)"))
    )
    for col in ("rate", "lo", "hi"):
        long[col] = 100 * long[col]
    long["group"] = pd.Categorical(
        long["group"], categories=list(reversed(list(dict.fromkeys(data["group"])))), ordered=True
    )
    dodge = position_dodge(width=0.6)
    return (
        ggplot(long, aes(x="group", y="rate", color="measure"))
        + geom_errorbar(aes(ymin="lo", ymax="hi"), width=0.3, position=dodge)
        + geom_point(position=dodge, size=2)
        + coord_flip()
        + scale_color_manual(values=OKABE_ITO[:2])
        + scale_y_continuous(limits=(0, 100))
        + rwe_theme()
        + labs(x="", y=f"% of evaluable patients ({options.ci})", title=title)
    )


def box_stats(values: pd.DataFrame, group_col: str, value_col: str = "nadir") -> pd.DataFrame:
    """Tukey box of ``value_col`` per ``test`` and group, as ``geom_boxplot``'s own statistic.

    Quartiles by linear interpolation (R ``quantile`` type 7, as plotnine's ``stat_boxplot``);
    whiskers at the most extreme values within 1.5 IQR of the hinges. Computed here, so the
    figure holds five numbers per box whatever the number of patients.

    Returns
    -------
    pandas.DataFrame
        ``test``, ``group_col``, ``n``, ``ymin``, ``lower``, ``middle``, ``upper``, ``ymax``.
    """
    groups = values.groupby(["test", group_col], observed=True, sort=True)[value_col]
    q = groups.quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = ["lower", "middle", "upper"]
    data = values[["test", group_col, value_col]].merge(q.reset_index(), on=["test", group_col])
    iqr = data["upper"] - data["lower"]
    inside = data[value_col].between(data["lower"] - 1.5 * iqr, data["upper"] + 1.5 * iqr)
    within = data[inside].groupby(["test", group_col], observed=True, sort=True)[value_col]
    out = q.assign(n=groups.size(), ymin=within.min(), ymax=within.max()).reset_index()
    return out[["test", group_col, "n", "ymin", "lower", "middle", "upper", "ymax"]]


def nadir_plot(
    boxes: pd.DataFrame,
    group_col: str,
    title: str,
    points: pd.DataFrame | None = None,
    note: str = "",
) -> ggplot:
    """Boxplots of nadir counts per group, with jittered points and a dashed CTCAE grade-3 line.

    Parameters
    ----------
    boxes : pandas.DataFrame
        :func:`box_stats` of every patient's nadirs (``test``, ``group_col`` and the five box
        numbers).
    group_col : str
        Column of the groups (x-axis).
    title : str
        Figure title.
    points : pandas.DataFrame, optional
        ``test``, ``nadir`` and ``group_col`` of the patients drawn as jittered points (a
        selection of patients, see :func:`sample_positions`); none when omitted (small-cell
        suppression).
    note : str
        What the points are (:func:`selection_note`), added to the caption.

    Returns
    -------
    plotnine.ggplot
        Whiskers reach 1.5 IQR; outliers are not drawn as marks of their own (they are patients).
    """

    def panel(frame):
        return frame["test"] + " (" + frame["test"].map(LAB_UNIT_DISPLAY) + ")"

    data = boxes.assign(panel=panel(boxes))
    lines = pd.DataFrame({"test": list(GRADE3), "threshold": list(GRADE3.values())})
    lines = lines[lines["test"].isin(data["test"])]
    lines = lines.assign(panel=panel(lines))
    caption = "Dashed: CTCAE v5 grade 3." + (
        f" Points: {note}; boxes: all patients." if note else ""
    )
    box = aes(
        x=group_col,
        ymin="ymin",
        lower="lower",
        middle="middle",
        upper="upper",
        ymax="ymax",
        fill=group_col,
    )
    plot = (
        ggplot(data)
        + geom_boxplot(box, stat="identity", alpha=0.6, width=0.6)
        + geom_hline(lines, aes(yintercept="threshold"), linetype="dashed", color="#D55E00")
        + facet_wrap("~panel", scales="free_y", ncol=2)
        + scale_fill_manual(values=OKABE_ITO)
        + rwe_theme()
        + theme(legend_position="none")
        + labs(x="", y="Nadir on treatment", title=title, caption=caption)
    )
    if points is not None and len(points):
        jitter = position_jitter(width=0.15, height=0, random_state=SELECTION_SEED)
        plot += geom_point(
            points.assign(panel=panel(points)),
            aes(x=group_col, y="nadir"),
            position=jitter,
            size=1,
            alpha=0.6,
        )
    return plot


def exposure_response_plot(
    curves: pd.DataFrame,
    observed: pd.DataFrame,
    exposure: str,
    title: str,
    ci: str,
    auc_unit: str = "",
) -> ggplot:
    """Fitted probability with CI band and observed proportions below/above the median exposure.

    ``ci`` names the intervals (:attr:`rwe.options.ReportOptions.ci`, ``95% CI``); ``auc_unit``
    (config ``exposure.auc_unit``) is shown on the axis of the time-averaged AUC.
    """
    xlab = exposure_axis_label(exposure, auc_unit)
    return (
        ggplot(curves, aes("x", "probability"))
        + geom_ribbon(aes(ymin="ci_lower", ymax="ci_upper"), fill=OKABE_ITO[5], alpha=0.3)
        + geom_line(color=OKABE_ITO[0], size=0.8)
        + geom_pointrange(observed, aes("x", "rate", ymin="lo", ymax="hi"), color=OKABE_ITO[1])
        + facet_wrap("~outcome", ncol=3)
        + scale_y_continuous(limits=(0, 1))
        + rwe_theme()
        + labs(
            x=xlab,
            y="Probability of the outcome",
            title=title,
            caption=f"Line and band: unadjusted logistic model with {ci}. Points: observed proportion "
            f"(exact {ci}) below/above the median exposure.",
        )
    )


def swimmer_plot(data: pd.DataFrame, title: str, note: str = "") -> ggplot:
    """Time on study per patient (rows ordered by time), with first response and progression.

    One row per patient of ``data`` (months since start: ``months``, ``response_month``,
    ``progression_month``, ``death_month``) and no identifier on the axis; the caller passes a
    selection of at most ``figures.max_patients`` patients and says so in ``note``.
    """
    d = data.sort_values("months", kind="stable").reset_index(drop=True)
    d["row"] = np.arange(1, len(d) + 1)
    markers = pd.concat(
        [
            d.dropna(subset=["response_month"]).assign(
                x=lambda t: t["response_month"], what="first response ≥ PR"
            ),
            d.dropna(subset=["progression_month"]).assign(
                x=lambda t: t["progression_month"], what="progression"
            ),
            d.dropna(subset=["death_month"]).assign(x=lambda t: t["death_month"], what="death"),
        ]
    )
    colours = {"first response ≥ PR": OKABE_ITO[2], "progression": OKABE_ITO[1], "death": "#000000"}
    return (
        ggplot()
        + geom_segment(d, aes(x=0, xend="months", y="row", yend="row"), color="#9ecae1", size=1.2)
        + geom_point(markers, aes("x", "row", color="what"), size=1.6)
        + scale_color_manual(values=colours)
        + scale_x_continuous(breaks=month_breaks(float(d["months"].max()) if len(d) else 1))
        + rwe_theme()
        + theme(
            axis_text_y=element_blank(),
            axis_ticks_major_y=element_blank(),
            panel_grid_major_y=element_blank(),
        )
        + labs(
            x="Months since start of ixazomib",
            y="Patients",
            title=title,
            subtitle=note or f"All {len(d):,} patients",
        )
    )


def swimmer_height(rows: int) -> float:
    """Inches of a swimmer plot of ``rows`` patients: 0.06 in a row, within 5 and 14 inches."""
    return float(np.clip(1.5 + 0.06 * rows, 5, 14))


def save(plot: ggplot, path_stem: str | Path, width: float = 7, height: float = 5) -> list[Path]:
    """Draw ``plot`` once and write ``<stem>.png`` (:data:`PNG_DPI` dpi) and ``<stem>.svg``.

    Both files come from the same matplotlib figure (plotnine's ``save`` would draw it once per
    format). The PNG holds 256 colours (Pillow's fast octree quantizer, no dithering): a figure
    has few colours, so it looks the same and is a third of the size, which keeps the report
    (every PNG embedded) small. SVG text is text (:data:`SVG_TEXT`). The layout is computed
    once, for the PNG, and kept for the SVG; the figure is closed after. ``plot`` gets the
    figure size and dpi. Neither file holds a date or a random id: a re-run writes the same bytes.
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.svg"]
    plot += theme(figure_size=(width, height), dpi=PNG_DPI)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotnine's notes on removed rows
        figure = plot.draw()
        try:
            with mpl.rc_context({**plot.theme.rcParams, **SVG_TEXT}):
                canvas = FigureCanvasAgg(figure)
                canvas.draw()
                image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
                image = image.convert("RGB").quantize(256, FAST_OCTREE, dither=Image.Dither.NONE)
                image.save(paths[0], dpi=(PNG_DPI, PNG_DPI), optimize=True)
                figure.set_layout_engine("none")  # keep the layout of the PNG
                # No savefig: it would lay out again.
                FigureCanvasSVG(figure).print_svg(paths[1], metadata=SVG_METADATA)
        finally:
            plt.close(figure)
    return paths


#: Figures waiting to be drawn by worker processes (read after fork; see :func:`save_all`).
_PENDING: list[tuple] = []


def _save_pending(i: int) -> list[Path]:
    return save(*_PENDING[i])


def save_all(jobs: list[tuple], workers: int = 1) -> None:
    """:func:`save` each ``(plot, path_stem, width, height)``, in ``workers`` processes.

    Workers are forked, so they inherit the plots (closures included) without pickling them.
    """
    global _PENDING
    if workers <= 1 or len(jobs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for job in jobs:
            save(*job)
        return
    _PENDING = jobs
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
            pool.map(_save_pending, range(len(jobs)), chunksize=1)
    finally:
        _PENDING = []


#: Figure kinds: sub-folder of ``results/figures`` and report section of each.
def set_title(set_name: str) -> str:
    """Reader's name of an analysis set: ``all`` is all patients, else the regimen."""
    return "all patients" if set_name == "all" else set_name


def file_stem(text: str) -> str:
    """A file-name-safe stem for a name that came from the input (a regimen)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "set"


def outcome_label(outcome: str) -> str:
    """``neutropenia_ge3`` -> ``Neutropenia grade ≥3``; ``disease_control`` -> ``Disease control (≥ SD)``."""
    if outcome == "disease_control":
        return "Disease control (≥ SD)"
    term, _, grade = outcome.rpartition("_ge")
    if not term:
        return outcome.replace("_", " ").capitalize()
    return f"{term.replace('_', ' ').capitalize()} grade ≥{grade}"


def _observed_points(models: pd.DataFrame) -> pd.DataFrame:
    """Observed proportions below/above the median exposure, at each half's median exposure."""
    rows = []
    for m in models.dropna(subset=["slope"]).itertuples():
        for side in ("below", "above"):
            rows.append(
                (
                    outcome_label(m.outcome),
                    float(getattr(m, f"median_exposure_{side}")),
                    getattr(m, f"observed_{side}"),
                    getattr(m, f"observed_{side}_ci_lower"),
                    getattr(m, f"observed_{side}_ci_upper"),
                )
            )
    return pd.DataFrame(rows, columns=["outcome", "x", "rate", "lo", "hi"])


def _curve_of(
    curves: pd.DataFrame, set_name: str, endpoint: str, variable: str, name: str
) -> pd.DataFrame:
    """The curves of one analysis set, endpoint and subgroup flag (its label ``name``), for the legend."""
    part = curves[
        (curves["analysis_set"] == set_name)
        & (curves["endpoint"] == endpoint)
        & (curves["variable"] == variable)
    ]
    if variable == "all":
        return part.assign(group="All patients")
    yes = part["level"].astype(str) == "1"
    return part.assign(group=np.where(yes, f"{name}: yes", f"{name}: no"))


def _selected(patients: pd.DataFrame, max_patients: int) -> tuple[pd.DataFrame, str]:
    """The patients a patient-level figure shows (sorted by site and id first) and its note."""
    patients = patients.sort_values(KEYS, kind="stable")
    shown = patients.iloc[sample_positions(len(patients), max_patients)]
    return shown, selection_note(len(shown), len(patients))


def make_figures(
    adsl,
    nadirs,
    tables: dict[str, pd.DataFrame],
    sets: dict[str, pd.DataFrame],
    options: ReportOptions,
    out_dir: str | Path,
    workers: int = 1,
) -> pd.DataFrame:
    """Draw every figure of the report into ``out_dir/<kind>/`` (PNG and SVG).

    Parameters
    ----------
    adsl : pandas.DataFrame
        Analysis dataset (patient level; only aggregates, curves and a stated selection of
        patients leave this function).
    nadirs : pandas.DataFrame
        Each patient's nadir per test (:func:`rwe.safety.patient_nadirs`: ``site, patient_id,
        test, nadir``), as the safety rule writes it to ``adam/nadirs.csv``.
    tables : dict of str to pandas.DataFrame
        ``km_curves`` (``adam/km_curves.csv``: ``analysis_set, endpoint, variable, level`` and
        the columns of :func:`rwe.survival.km_curve`), ``logrank``, ``cox``, ``response``,
        ``exposure_response`` and ``exposure_curves`` (fitted probability over a grid:
        ``outcome, x, probability, ci_lower, ci_upper``).
    sets : dict of str to pandas.DataFrame
        Analysis sets (:func:`rwe.derive.analysis_sets`).
    options : rwe.options.ReportOptions
        Reads ``conf_level``, ``subgroups``, ``ci_bands``, ``max_patients`` and
        ``min_cell_count``. Patient-level pictures (the swimmer plot, the nadir points) show at
        most ``figures.max_patients`` patients, a random sample stated in the title. With
        k = ``min_cell_count`` > 0 they are left out, and so is every curve, bar or box of a
        group with fewer than k patients.
    out_dir : str or pathlib.Path
        The figures folder.
    workers : int
        Processes that draw the figures (:func:`save_all`).

    Returns
    -------
    pandas.DataFrame
        ``name, kind, section, file, title`` of each figure; ``file`` is the path under
        ``out_dir`` without suffix (``km/km_pfs_all_all``).
    """
    from rwe.safety import nadirs_by_patient

    out_dir = Path(out_dir)
    for kind in FIGURE_KINDS:
        (out_dir / kind).mkdir(parents=True, exist_ok=True)
    conf_level, ci_bands = options.conf_level, options.ci_bands
    max_patients, k, subgroups = options.max_patients, options.min_cell_count, options.subgroups
    stems = {name: file_stem(name) for name in sets}
    if len(set(stems.values())) < len(stems):  # two regimens with the same safe stem
        stems = {name: f"{stem}_{i}" for i, (name, stem) in enumerate(stems.items())}
    written, jobs = [], []

    def emit(plot, kind, name, title, width=7, height=5):
        jobs.append((plot, out_dir / kind / name, width, height))
        written.append((name, kind, FIGURE_KINDS[kind].section, f"{kind}/{name}", title))

    def big_enough(counts) -> bool:
        return k <= 1 or all(n >= k for n in counts)

    curves, logrank = tables["km_curves"], tables["logrank"]
    for set_name in sets:
        for endpoint in ("PFS", "OS"):
            for var in ["all", *subgroups] if set_name == "all" else ["all"]:
                part = _curve_of(curves, set_name, endpoint, var, options.label(var))
                sizes = group_sizes(part) if len(part) else pd.Series(dtype=int)
                if len(sizes) < (1 if var == "all" else 2) or not big_enough(sizes):
                    continue
                p = None
                primary = is_prespecified(set_name, endpoint, var, options.primary_comparisons)
                if var != "all" and primary:  # a p value only for a prespecified comparison
                    row = logrank[
                        (logrank["analysis_set"] == set_name)
                        & (logrank["endpoint"] == endpoint)
                        & (logrank["variable"] == var)
                    ]
                    p = pd.to_numeric(row["p"], errors="coerce").iloc[0] if len(row) else None
                by = "" if var == "all" else f" by {options.label(var)}"
                t = f"{endpoint}{by}, {set_title(set_name)}"
                if var in DAY_ZERO_BIASED:
                    t += " (from day 0: biased by immortal time)"
                if var != "all":
                    t += f" ({PRESPECIFIED})" if primary else f" ({EXPLORATORY}: no p value)"
                plot = km_plot(
                    part,
                    t,
                    ci_bands=ci_bands,
                    p_value=p,
                    endpoint=endpoint,
                    conf_level=conf_level,
                    min_cell_count=k,
                )
                emit(plot, "km", f"km_{endpoint.lower()}_{stems[set_name]}_{var}", t, height=5.5)
    cox = tables["cox"]
    for endpoint in ("PFS", "OS"):
        multi = cox[
            (cox["analysis_set"] == "all")
            & (cox["endpoint"] == endpoint)
            & (cox["model"] == "multivariable")
        ]
        if multi["hr"].notna().any():
            t = f"Multivariable Cox model of {endpoint}, all patients"
            diag = tables.get("cox_diagnostics")
            if diag is not None:
                same = (diag["analysis_set"] == "all") & (diag["endpoint"] == endpoint)
                diag = diag[
                    same & (diag["model"] == "multivariable") & diag["term"].fillna("").eq("")
                ]
            height = 1.5 + 0.32 * len(forest_rows(multi, options))
            emit(
                forest_plot(multi, t, options, diag),
                "forest",
                f"forest_{endpoint.lower()}_all",
                t,
                9,
                height,
            )
    interactions = tables.get("subgroup_interactions")
    for endpoint in ("PFS", "OS"):
        part = (
            interactions[interactions["endpoint"] == endpoint]
            if interactions is not None
            else pd.DataFrame()
        )
        if len(part) and part["hr"].notna().any():
            t = f"Subgroup effects on {endpoint}: {part['treatment'].iloc[0]}"
            rows = len(subgroup_forest_rows(part, options))
            emit(
                subgroup_forest_plot(part, t, options),
                "forest",
                f"forest_subgroups_{endpoint.lower()}",
                t,
                9,
                1.5 + 0.32 * rows,
            )
    meta = tables.get("site_meta", pd.DataFrame(columns=["endpoint", "term", "hr"]))
    for (endpoint, term), part in meta.dropna(subset=["term"]).groupby(
        ["endpoint", "term"], sort=False
    ):
        if part["hr"].notna().any():
            t = f"{endpoint}: {options.label(term)}, per site and pooled"
            emit(
                meta_forest_plot(part, t, k),
                "meta",
                f"meta_{endpoint.lower()}_{file_stem(term)}",
                t,
                width=8,
                height=1.4 + 0.38 * len(part),
            )
    response = tables["response"]
    for set_name in sets:
        part = response[(response["analysis_set"] == set_name) & (response["n_evaluable"] > 0)]
        if k > 1:
            part = part[part["n_evaluable"] >= k]
        if part.empty:
            continue
        height = 2 + 0.28 * len(part)
        stem = stems[set_name]
        where = set_title(set_name)
        emit(
            response_bar_plot(part, f"Best response, {where}", options),
            "response",
            f"response_{stem}",
            f"Best response by IMWG category, {where}",
            height=height,
        )
        emit(
            rate_plot(part, f"ORR and CBR, {where}", options),
            "response",
            f"rates_{stem}",
            f"ORR and CBR with exact {options.ci}s, {where}",
            height=height,
        )
    nadirs = nadirs_by_patient(adsl, nadirs) if len(nadirs) else pd.DataFrame()
    if len(nadirs):
        imid = nadirs.assign(
            group=np.where(nadirs["imid_containing"] == 1, "IMiD-containing", "IMiD-free")
        )
        three = nadirs[nadirs["regimen"].isin(["Ixa-Pd", "Ixa-Rd", "Ixa-Td"])]
        for data, col, name, title in (
            (imid, "group", "nadir_imid", "IMiD-containing vs IMiD-free"),
            (three, "regimen", "nadir_regimen", "Ixa-Pd vs Ixa-Rd vs Ixa-Td"),
        ):
            sizes = data.groupby(col)["patient_id"].nunique()
            data = data[data[col].isin(sizes[sizes >= max(k, 1)].index)]
            if data[col].nunique() < 2:
                continue
            points, note = None, ""
            if k <= 1:
                shown, note = _selected(data[KEYS].drop_duplicates(), max_patients)
                points = data.merge(shown, on=KEYS)
            caption = f"Nadir blood counts, {title}" + (f"; points: {note}" if note else "")
            emit(
                nadir_plot(box_stats(data, col), col, f"Nadir blood counts, {title}", points, note),
                "nadir",
                name,
                caption,
                height=6,
            )
    models, preds = tables.get("exposure_response"), tables.get("exposure_curves")
    if preds is not None and len(preds) and models is not None:
        preds = preds.assign(outcome=preds["outcome"].map(outcome_label))
        rows = int(np.ceil(preds["outcome"].nunique() / 3))
        exposure = models["exposure"].iloc[0]
        plot = exposure_response_plot(
            preds,
            _observed_points(models),
            exposure,
            "Exposure–response",
            options.ci,
            options.auc_unit,
        )
        title = "Exposure–response: fitted probability and observed proportions"
        emit(plot, "exposure", "exposure_response", title, width=9, height=2.6 * rows + 1)
    if k <= 1 and len(adsl):
        shown, note = _selected(adsl, max_patients)
        months = lambda col: shown[col].astype(float) / DAYS_PER_MONTH if col in shown else np.nan  # noqa: E731
        swim = pd.DataFrame(
            {
                "months": months("last_followup_day"),
                "response_month": months("first_response_day"),
                "progression_month": months("progression_day"),
                "death_month": months("death_day"),
            }
        )
        title = "Time on study with first response, progression and death"
        emit(
            swimmer_plot(swim, "Time on study", note),
            "swimmer",
            "swimmer_all",
            title + (f": {note}" if note else ""),
            height=swimmer_height(len(swim)),
        )
    save_all(jobs, workers)
    return pd.DataFrame(written, columns=["name", "kind", "section", "file", "title"])
