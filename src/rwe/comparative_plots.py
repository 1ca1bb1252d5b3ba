"""Figures of the comparative-effectiveness analysis (plotnine, the theme of :mod:`rwe.plots`).

- :func:`love_plot` — |SMD| of each covariate before and after weighting (cobalt's
  ``love.plot``), with the configured threshold.
- :func:`ps_overlap_plot` — the propensity-score distribution of each group (binned counts).
- :func:`weighted_km_plot` — Kaplan–Meier curves per group, unweighted or IPT-weighted, with
  the numbers of patients at risk.
- :func:`cif_plot` — cumulative incidence of progression and of death without progression
  per group (Aalen–Johansen), with the numbers at risk.

Every figure is drawn from aggregates (curves, bins, the balance table), never from patient
rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    element_blank,
    facet_grid,
    geom_blank,
    geom_col,
    geom_hline,
    geom_point,
    geom_step,
    geom_text,
    geom_vline,
    ggplot,
    labs,
    scale_color_manual,
    scale_fill_manual,
    scale_linetype_manual,
    scale_x_continuous,
    scale_y_continuous,
    theme,
)

from rwe.comparative_inference import covariate_label
from rwe.plots import OKABE_ITO, km_plot, month_breaks, risk_table, rwe_theme

SAMPLE_LABELS = {"unweighted": "Unweighted", "weighted": "IPT-weighted"}


def love_plot(balance: pd.DataFrame, title: str, gfr_cutoff: float) -> ggplot:
    """Absolute standardised mean differences before and after weighting (cobalt ``love.plot``).

    Parameters
    ----------
    balance : pandas.DataFrame
        :func:`rwe.comparative.balance_table` (its ``threshold`` column draws the dashed line).
    title : str
    gfr_cutoff : float
        The config's ``gfr_cutoff`` (the label of ``gfr_le70``).
    """
    data = balance.assign(
        abs_smd=balance["smd"].abs(),
        sample=balance["sample"].map(SAMPLE_LABELS),
        name=[covariate_label(c, gfr_cutoff) for c in balance["covariate"]],
    )
    order = (
        data[data["sample"] == SAMPLE_LABELS["unweighted"]].sort_values("abs_smd")["name"].tolist()
    )
    data["name"] = pd.Categorical(data["name"], categories=order, ordered=True)
    threshold = float(balance["threshold"].iloc[0])
    colours = dict(zip(SAMPLE_LABELS.values(), OKABE_ITO, strict=False))
    plot = ggplot(data, aes("abs_smd", "name", color="sample")) + rwe_theme()
    plot += geom_vline(xintercept=threshold, linetype="dashed", color="#555555")
    plot += geom_vline(xintercept=0, color="#999999")
    plot += geom_point(size=3)
    plot += scale_color_manual(values=colours)
    plot += labs(
        x="Absolute standardised mean difference",
        y="",
        title=title,
        subtitle=f"dashed: threshold {threshold:g}",
    )
    return plot


def ps_bins(cohort: pd.DataFrame, levels: list[str], bins: int = 20) -> pd.DataFrame:
    """Counts of patients per propensity-score bin and group (what :func:`ps_overlap_plot` draws).

    Returns
    -------
    pandas.DataFrame
        ``group, lower, upper, mid, n``; bins of equal width on [0, 1].
    """
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for level, treated in ((levels[0], 1), (levels[1], 0)):
        ps = cohort.loc[cohort["treated"] == treated, "ps"].to_numpy(float)
        counts, _ = np.histogram(ps, bins=edges)
        rows.append(
            pd.DataFrame({"group": level, "lower": edges[:-1], "upper": edges[1:], "n": counts})
        )
    out = pd.concat(rows, ignore_index=True)
    return out.assign(mid=(out["lower"] + out["upper"]) / 2)


def _outside_text(n: int, min_cell_count: int) -> str:
    """A count of patients for the overlap figure's subtitle (``<k`` when small)."""
    return f"<{min_cell_count}" if 0 < n < min_cell_count else f"{n}"


def ps_overlap_plot(
    bins: pd.DataFrame,
    levels: list[str],
    title: str,
    trim=None,
    min_cell_count: int = 0,
    support: tuple[float, float] | None = None,
    outside: dict | None = None,
) -> ggplot:
    """Mirrored histograms of the propensity score: treated above the axis, control below.

    ``support`` (lower, upper) draws the common support as dotted lines and ``outside``
    (group -> patients outside it) states the counts in the subtitle. With ``min_cell_count``
    k > 0, a bin of 1 to k − 1 patients is drawn k high (its count is not shown), a count of
    patients outside the support from 1 to k − 1 is written ``<k``, and the subtitle says so.
    """
    shown = bins["n"].where(~bins["n"].between(1, min_cell_count - 1), min_cell_count)
    data = bins.assign(y=np.where(bins["group"] == levels[0], shown, -shown))
    width = float((bins["upper"] - bins["lower"]).iloc[0]) if len(bins) else 0.05
    colours = dict(zip(levels, OKABE_ITO, strict=False))
    plot = ggplot(data, aes("mid", "y", fill="group")) + rwe_theme()
    plot += geom_col(width=width * 0.95, alpha=0.8)
    plot += geom_hline(yintercept=0, color="#555555")
    subtitle = f"{levels[0]} above, {levels[1]} below the axis"
    if trim:
        plot += geom_vline(xintercept=[trim, 1 - trim], linetype="dashed", color="#555555")
        subtitle += f"; dashed: trimming bounds {trim:g} and {1 - trim:g}"
    if support is not None and np.isfinite(support[0]):
        plot += geom_vline(xintercept=list(support), linetype="dotted", color="#222222")
        counts = ", ".join(
            f"{g} {_outside_text(int(n), min_cell_count)}" for g, n in (outside or {}).items()
        )
        subtitle += (
            f"\ndotted: common support [{support[0]:.2f}, {support[1]:.2f}]; "
            f"patients outside it: {counts}"
        )
    if min_cell_count > 0 and (shown != bins["n"]).any():
        subtitle += f"; bins of fewer than {min_cell_count} patients drawn at {min_cell_count}"
    plot += scale_fill_manual(values=colours, breaks=levels)
    plot += scale_y_continuous(labels=lambda v: [f"{abs(int(x))}" for x in v])
    plot += scale_x_continuous(limits=(0, 1))
    plot += labs(
        x="Propensity score (probability of " + levels[0] + ")",
        y="Patients",
        title=title,
        subtitle=subtitle,
    )
    return plot


def weighted_km_plot(
    curves: dict,
    counts: dict,
    endpoint: str,
    title: str,
    weighted: bool,
    conf_level: float = 0.95,
    min_cell_count: int = 0,
    balanced: bool = True,
) -> ggplot:
    """Kaplan–Meier curves of the two groups (:func:`rwe.plots.km_plot`), weighted or not.

    ``balanced`` False (weighting left a covariate imbalanced) says in the weighted figure's
    caption that the curves are not interpretable as an effect of the regimen.

    Parameters
    ----------
    curves : dict
        Level -> :func:`rwe.survival.km_curve` (weighted or not).
    counts : dict
        Level -> the unweighted curve of the same patients: the numbers at risk shown are
        patients, not sums of weights.
    """
    frames = []
    for level, curve in curves.items():
        patients = counts[level].set_index("time")["n_risk"]
        frames.append(curve.assign(group=level, n_risk=curve["time"].map(patients).to_numpy()))
    plot = km_plot(
        pd.concat(frames, ignore_index=True),
        title,
        ci_bands=True,
        endpoint=endpoint,
        conf_level=conf_level,
        min_cell_count=min_cell_count,
    )
    if weighted:
        caption = "Curves IPT-weighted; numbers at risk are patients (unweighted)"
        if not balanced:
            caption += (
                "\nNot interpretable as an effect of the regimen: the weights did not balance "
                "every covariate"
            )
        plot += labs(caption=caption)
    return plot


def cif_plot(
    cif: pd.DataFrame, title: str, groups: list[str], causes: list[str], min_cell_count: int = 0
) -> ggplot:
    """Cumulative incidence per group and cause, with the numbers at risk under the x-axis.

    Parameters
    ----------
    cif : pandas.DataFrame
        ``group, cause, time, n_risk, estimate`` (step curves, one row per distinct time).
    title : str
    groups, causes : list of str
        In the legend's order; the first cause is drawn solid, the second dashed.
    min_cell_count : int
        Numbers at risk from 1 to k − 1 are shown as ``<k``.
    """
    colours = dict(zip(groups, OKABE_ITO, strict=False))
    breaks = month_breaks(float(cif["time"].max()) if len(cif) else 1.0)
    starts = pd.DataFrame(
        [(g, c, 0.0, 0.0) for g in groups for c in causes],
        columns=["group", "cause", "time", "estimate"],
    )
    steps = pd.concat([starts, cif[["group", "cause", "time", "estimate"]]], ignore_index=True)
    steps = steps.assign(panel="curve")
    first = cif[cif["cause"] == causes[0]]
    risk = risk_table(first[["group", "time", "n_risk"]], breaks, min_cell_count)
    row_of = {g: -(i + 1) for i, g in enumerate(groups)}
    risk = risk.assign(y=risk["group"].map(row_of), panel="risk")
    names = {v: g for g, v in row_of.items()}
    frame = pd.DataFrame(
        {
            "panel": ["curve", "risk", "curve", "risk"],
            "time": 0.0,
            "y": [1.02, -(len(groups) + 0.5), -0.02, 0.0],
        }
    )
    heading = pd.DataFrame(
        {"panel": ["risk"], "time": [0.0], "y": [-0.25], "label": ["Number at risk"]}
    )
    plot = ggplot() + rwe_theme() + geom_blank(frame, aes("time", "y"))
    plot += geom_step(steps, aes("time", "estimate", color="group", linetype="cause"), size=0.8)
    plot += geom_text(
        risk, aes("time", "y", label="label", color="group"), size=8, show_legend=False
    )
    plot += geom_text(
        heading, aes("time", "y", label="label"), size=8, ha="left", fontweight="bold"
    )
    plot += facet_grid(
        "panel ~ .", scales="free_y", space={"x": [1], "y": [4, 0.3 + 0.35 * len(groups)]}
    )
    plot += scale_y_continuous(
        breaks=lambda limits: [0, 0.25, 0.5, 0.75, 1.0] if limits[1] > 0.5 else sorted(names),
        labels=lambda values: [names.get(v, "") if v < 0 else f"{100 * v:.0f}" for v in values],
        expand=(0, 0),
    )
    plot += scale_x_continuous(breaks=breaks, limits=(0, breaks[-1]), expand=(0.04, 0))
    plot += scale_color_manual(values=colours, breaks=groups)
    plot += scale_linetype_manual(values=dict(zip(causes, ["solid", "dashed"], strict=False)))
    plot += theme(
        strip_text_y=element_blank(),
        strip_background_y=element_blank(),
        panel_grid_major_y=element_blank(),
        panel_spacing_y=0.015,
        legend_box="vertical",
    )
    plot += labs(
        x="Months since start of ixazomib",
        y="Cumulative incidence (%)",
        title=title,
        subtitle="Aalen–Johansen; death without progression is a competing event",
    )
    return plot


#: Report section (and figure kind) of the comparative figures.
SECTION = "comparative"
FIGURE_INDEX_COLUMNS = ["name", "kind", "section", "file", "title"]


def make_figures(
    comparison,
    out_dir,
    trim: float | None = None,
    conf_type: str = "log",
    conf_level: float = 0.95,
    min_cell_count: int = 0,
    *,
    gfr_cutoff: float,
) -> pd.DataFrame:
    """Draw every figure of a :class:`rwe.comparative.Comparison` into ``out_dir`` (PNG, SVG).

    ``gfr_cutoff`` (config) labels ``gfr_le70``; the CIs follow ``conf_type`` and ``conf_level``.

    Returns
    -------
    pandas.DataFrame
        The figure index, as :func:`rwe.plots.make_figures` writes it: ``name, kind, section,
        file, title``; ``file`` is the path under ``out_dir``'s parent without suffix.
    """
    from rwe.comparative import CAUSES, ENDPOINTS, km_by_group
    from rwe.plots import save

    out_dir = Path(out_dir)
    if comparison.reason:  # a cohort that cannot support the comparison: no figure
        return pd.DataFrame(columns=FIGURE_INDEX_COLUMNS)
    levels, data, name = comparison.levels, comparison.analysed, comparison.label
    weights = comparison.tables["ps_weights"].set_index("group")
    balance = comparison.tables["ps_balance"]
    titles = {
        "love_plot": f"Covariate balance: {name}",
        "ps_overlap": f"Propensity-score overlap: {name}",
        "cif": f"Progression and death without progression: {name}",
    }
    jobs = [
        (love_plot(balance, titles["love_plot"], gfr_cutoff), "love_plot", 4),
        (
            ps_overlap_plot(
                ps_bins(comparison.cohort, levels),
                levels,
                titles["ps_overlap"],
                trim,
                min_cell_count,
                support=(
                    float(weights["support_lower"].iloc[0]),
                    float(weights["support_upper"].iloc[0]),
                ),
                outside={level: weights.loc[level, "n_outside_support"] for level in levels},
            ),
            "ps_overlap",
            4,
        ),
    ]
    for endpoint in ENDPOINTS:
        counts = km_by_group(data, levels, endpoint, False, conf_type, conf_level)
        weighted = km_by_group(data, levels, endpoint, True, conf_type, conf_level)
        for method, curves in (("weighted", weighted), ("unweighted", counts)):
            stem = f"km_{method}_{endpoint.lower()}"
            kind = "IPT-weighted" if method == "weighted" else "unweighted"
            titles[stem] = f"{endpoint}, {kind}: {name}"
            plot = weighted_km_plot(
                curves,
                counts,
                endpoint,
                titles[stem],
                method == "weighted",
                conf_level,
                min_cell_count,
                balanced=not balance.loc[balance["sample"] == "weighted", "imbalanced"].any(),
            )
            jobs.append((plot, stem, 5))
    cif = comparison.curves["cif"].rename(columns={"cif": "estimate"})
    cif_figure = cif_plot(cif, titles["cif"], levels, list(CAUSES.values()), min_cell_count)
    jobs.append((cif_figure, "cif", 5))
    rows = []
    for plot, stem, height in jobs:
        save(plot, out_dir / stem, width=7, height=height)
        rows.append((stem, SECTION, SECTION, f"{out_dir.name}/{stem}", titles[stem]))
    return pd.DataFrame(rows, columns=FIGURE_INDEX_COLUMNS)
