"""Publication figures with plotnine: one theme, the Okabe–Ito colour-blind-safe palette.

Every function takes analysis tables (and, where a curve or a distribution needs them, the
analysis datasets) and returns a ``plotnine.ggplot``; :func:`save` writes PNG (300 dpi) and SVG.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    annotate,
    coord_flip,
    element_blank,
    element_line,
    element_rect,
    element_text,
    facet_wrap,
    geom_boxplot,
    geom_col,
    geom_errorbar,
    geom_hline,
    geom_jitter,
    geom_line,
    geom_point,
    geom_pointrange,
    geom_ribbon,
    geom_segment,
    geom_step,
    geom_text,
    ggplot,
    labs,
    position_dodge,
    scale_color_manual,
    scale_fill_manual,
    scale_x_continuous,
    scale_y_continuous,
    scale_y_log10,
    theme,
    theme_bw,
)

from rwe.response import CATEGORIES
from rwe.survival import km_curve

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
RESPONSE_COLOURS = dict(zip([*CATEGORIES, "NE"], ["#084594", "#2171B5", "#4292C6", "#6BAED6", "#C6DBEF", "#FDD49E",
                                                  "#D7301F", "#BDBDBD"], strict=True))  # fmt: skip
#: CTCAE v5 grade-3 thresholds of the nadir counts.
GRADE3 = {"ANC": 1.0, "WBC": 2.0, "PLT": 50.0, "HGB": 8.0}
UNITS = {"ANC": "10^9/L", "WBC": "10^9/L", "PLT": "10^9/L", "HGB": "g/dL"}
LABELS = {
    "second_line": "Second line", "refractory_pi": "PI refractory", "triple_class_refractory": "Triple-class refractory",
    "emd": "Extramedullary disease", "high_risk_cyto": "High-risk cytogenetics", "age_ge80": "Age ≥ 80",
    "gfr_le70": "GFR ≤ 70", "imid_containing": "IMiD-containing", "responder": "Responder (≥ PR)",
    "more_than_3_lines": "More than 3 prior lines",
}  # fmt: skip


def label(variable: str) -> str:
    """Reader's name of an ADSL flag."""
    return LABELS.get(variable, variable.replace("_", " "))


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


def km_plot(data: pd.DataFrame, title: str, group_label: str | None = None, conf_type: str = "log",
            ci_bands: bool = True, p_value: float | None = None) -> ggplot:  # fmt: skip
    """Kaplan–Meier curves with censor marks, CI bands, median lines and a numbers-at-risk table.

    Parameters
    ----------
    data : pandas.DataFrame
        ``aval`` (months), ``event`` (1/0) and ``group`` (label of each curve).
    title : str
        Figure title (endpoint and analysis set).
    group_label : str, optional
        Legend title for the groups.
    conf_type : str
        CI type of the bands (R ``conf.type``).
    ci_bands : bool
        Draw pointwise CI bands.
    p_value : float, optional
        Log-rank p, printed on the plot.

    Notes
    -----
    The numbers at risk are drawn inside the panel below the curves, so they line up with the
    x-axis ticks exactly (as survminer's ``ggsurvplot(risk.table = TRUE)``).
    """
    groups = sorted(data["group"].unique())  # the legend's order ("…: no" before "…: yes")
    colours = dict(zip(groups, OKABE_ITO, strict=False))
    max_month = float(data["aval"].max()) if len(data) else 1.0
    breaks = month_breaks(max_month)
    steps, censors, medians, risk = [], [], [], []
    row_height = 0.075
    for i, g in enumerate(groups):
        part = data[data["group"] == g]
        curve = km_curve(part["aval"], part["event"], conf_type)
        start = pd.DataFrame({"time": [0.0], "surv": [1.0], "ci_lower": [1.0], "ci_upper": [1.0]})
        c = pd.concat(
            [start, curve[["time", "surv", "ci_lower", "ci_upper"]]], ignore_index=True
        ).assign(group=g)
        steps.append(c)
        censored = curve[curve["n_censor"] > 0]
        censors.append(censored.assign(group=g))
        below = curve[curve["surv"] <= 0.5]
        if len(below):
            medians.append((g, float(below["time"].iloc[0])))
        for b in breaks:
            at_risk = int((part["aval"] >= b).sum())
            risk.append((g, b, at_risk, -0.16 - row_height * (i + 1)))
    steps = pd.concat(steps)
    # Step ribbons: repeat each point so the band is a step function.
    band = steps.reset_index(drop=True)
    band["order"] = 2 * np.arange(len(band))
    step_ends = band.assign(time=band.groupby("group")["time"].shift(-1), order=band["order"] + 1)
    band = pd.concat([band, step_ends]).dropna(subset=["time"]).sort_values(["group", "order"])
    risk = pd.DataFrame(risk, columns=["group", "time", "n", "y"])
    plot = ggplot() + rwe_theme()
    if ci_bands:
        plot += geom_ribbon(
            band, aes("time", ymin="ci_lower", ymax="ci_upper", fill="group"), alpha=0.15
        )
    plot += geom_step(steps, aes("time", "surv", color="group"), size=0.8)
    cens = pd.concat(censors) if censors else pd.DataFrame(columns=["time", "surv", "group"])
    if len(cens):
        plot += geom_point(cens, aes("time", "surv", color="group"), shape="|", size=3)
    for g, m in medians:
        plot += annotate(
            "segment", x=0, xend=m, y=0.5, yend=0.5, linetype="dashed", color="#777777", size=0.4
        )
        plot += annotate(
            "segment", x=m, xend=m, y=0, yend=0.5, linetype="dashed", color=colours[g], size=0.4
        )
    plot += geom_hline(yintercept=0, color="#555555", size=0.4)
    plot += annotate(
        "text", x=0, y=-0.1, label="Number at risk", ha="left", size=8, fontweight="bold"
    )
    plot += geom_text(risk, aes("time", "y", label="n", color="group"), size=8, show_legend=False)
    if p_value is not None and np.isfinite(p_value):
        text = "log-rank p < 0.001" if p_value < 0.001 else f"log-rank p = {p_value:.3f}"
        plot += annotate("text", x=max_month * 0.98, y=0.95, label=text, ha="right", size=9)
    lowest = -0.16 - row_height * (len(groups) + 0.6)
    plot += scale_y_continuous(breaks=[0, 0.25, 0.5, 0.75, 1.0], labels=["0", "25", "50", "75", "100"],
                               limits=(lowest, 1.02), expand=(0, 0))  # fmt: skip
    plot += scale_x_continuous(
        breaks=breaks, limits=(-max_month * 0.03, breaks[-1] * 1.01), expand=(0, 0)
    )
    plot += scale_color_manual(values=colours)
    plot += scale_fill_manual(values=colours)
    plot += labs(
        x="Months since start of ixazomib",
        y="Probability (%)",
        title=title,
        color=group_label,
        fill=group_label,
    )
    return plot


def forest_plot(cox: pd.DataFrame, title: str) -> ggplot:
    """Forest plot of a multivariable Cox model: HR with CI on a log scale, reference line at 1."""
    data = cox.dropna(subset=["hr"]).copy()
    data["label"] = data["term"].map(label)

    def p_text(p):
        return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"

    data["text"] = [f"{h:.2f} ({lo:.2f}–{hi:.2f}), {p_text(p)}" for h, lo, hi, p in
                    zip(data["hr"], data["ci_lower"], data["ci_upper"], data["p"], strict=True)]  # fmt: skip
    order = list(reversed(data["label"].tolist()))
    data["label"] = pd.Categorical(data["label"], categories=order, ordered=True)
    top = float(data["ci_upper"].replace(np.inf, np.nan).max()) if len(data) else 10
    subtitle = (
        f"n = {int(cox['n'].iloc[0])}, events = {int(cox['events'].iloc[0])}" if len(cox) else ""
    )
    return (
        ggplot(data, aes(x="label", y="hr"))
        + geom_hline(yintercept=1, linetype="dashed", color="#777777")
        + geom_pointrange(aes(ymin="ci_lower", ymax="ci_upper"), color=OKABE_ITO[0], size=0.6)
        + geom_text(aes(label="text", y=top * 1.6), ha="left", size=8)
        + scale_y_log10(
            limits=(
                max(min(data["ci_lower"].min(), 0.5) * 0.8, 1e-3) if len(data) else 0.1,
                top * 12,
            )
        )
        + coord_flip()
        + rwe_theme()
        + labs(x="", y="Hazard ratio (log scale)", title=title, caption=subtitle)
    )


def response_bar_plot(response: pd.DataFrame, title: str) -> ggplot:
    """Best response distribution (stacked, % of evaluable) overall and by subgroup level."""
    data = response.copy()
    data["group"] = np.where(data["variable"] == "all", "All patients",
                             data["variable"].map(label) + ": " + np.where(data["level"] == "1", "yes", "no"))  # fmt: skip
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


def rate_plot(response: pd.DataFrame, title: str) -> ggplot:
    """ORR and CBR with exact 95% CIs, overall and by subgroup level."""
    data = response.copy()
    data["group"] = np.where(data["variable"] == "all", "All patients",
                             data["variable"].map(label) + ": " + np.where(data["level"] == "1", "yes", "no"))  # fmt: skip
    long = pd.concat([
        data.assign(measure="ORR (≥ PR)", rate=data["orr"], lo=data["orr_ci_lower"], hi=data["orr_ci_upper"]),
        data.assign(measure="CBR (≥ MR)", rate=data["cbr"], lo=data["cbr_ci_lower"], hi=data["cbr_ci_upper"]),
    ])  # fmt: skip
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
        + labs(x="", y="% of evaluable patients (95% CI)", title=title)
    )


def nadir_plot(nadirs: pd.DataFrame, group_col: str, title: str, points: bool = True) -> ggplot:
    """Boxplots of nadir counts with jittered points and a dashed CTCAE grade-3 line per test."""
    data = nadirs.copy()
    data["panel"] = data["test"] + " (" + data["test"].map(UNITS) + ")"
    lines = pd.DataFrame({"test": list(GRADE3), "threshold": list(GRADE3.values())})
    lines["panel"] = lines["test"] + " (" + lines["test"].map(UNITS) + ")"
    lines = lines[lines["test"].isin(data["test"])]
    plot = (
        ggplot(data, aes(x=group_col, y="nadir", fill=group_col))
        + geom_boxplot(outlier_shape="" if points else "o", alpha=0.6, width=0.6)
        + geom_hline(lines, aes(yintercept="threshold"), linetype="dashed", color="#D55E00")
        + facet_wrap("~panel", scales="free_y", ncol=2)
        + scale_fill_manual(values=OKABE_ITO)
        + rwe_theme()
        + theme(legend_position="none")
        + labs(x="", y="Nadir on treatment", title=title, caption="Dashed: CTCAE v5 grade 3")
    )
    if points:
        plot += geom_jitter(width=0.15, height=0, size=1, alpha=0.6)
    return plot


def exposure_response_plot(
    curves: pd.DataFrame, observed: pd.DataFrame, exposure: str, title: str
) -> ggplot:
    """Fitted probability with CI band and observed proportions below/above the median exposure."""
    xlab = "Time-averaged AUC per day" if exposure == "exposure_auc" else "Starting dose (mg)"
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
            caption="Line and band: logistic model with 95% CI. Points: observed proportion (exact 95% CI) below/above the median exposure.",
        )  # fmt: skip
    )


def swimmer_plot(data: pd.DataFrame, title: str) -> ggplot:
    """Time on study per patient (rows ordered by time), with first response and progression."""
    d = data.sort_values("months").reset_index(drop=True)
    d["row"] = np.arange(1, len(d) + 1)
    markers = pd.concat([
        d.dropna(subset=["response_month"]).assign(x=lambda t: t["response_month"], what="first response ≥ PR"),
        d.dropna(subset=["progression_month"]).assign(x=lambda t: t["progression_month"], what="progression"),
        d.dropna(subset=["death_month"]).assign(x=lambda t: t["death_month"], what="death"),
    ])  # fmt: skip
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
        + labs(x="Months since start of ixazomib", y="Patients", title=title)
    )


def save(plot: ggplot, path_stem: str | Path, width: float = 7, height: float = 5) -> list[Path]:
    """Write ``<stem>.png`` (300 dpi) and ``<stem>.svg``; returns both paths."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotnine's notes on removed rows and saving
        for path in paths:
            plot.save(path, width=width, height=height, dpi=300, verbose=False)
    return paths


def _subgroup_data(adsl: pd.DataFrame, adtte: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    tte = adtte[adtte["paramcd"] == endpoint][["site", "patient_id", "aval", "cnsr"]]
    data = adsl.merge(tte, on=["site", "patient_id"])
    return data.assign(event=1 - data["cnsr"].astype(int))


def make_figures(adsl, adtte, adlb, tables: dict[str, pd.DataFrame], sets: dict[str, pd.DataFrame], config: dict,
                 out_dir: str | Path) -> pd.DataFrame:  # fmt: skip
    """Draw every figure of the report into ``out_dir``.

    With ``min_cell_count`` > 0 the patient-level pictures (swimmer plot, jittered points)
    are left out.

    Returns
    -------
    pandas.DataFrame
        ``name, section, title`` of each figure written (``<name>.png`` and ``<name>.svg``).
    """
    from rwe.safety import _nadirs_by_patient, patient_nadirs

    out_dir = Path(out_dir)
    conf_type = config["km"]["conf_type"]
    ci_bands = config.get("figures", {}).get("ci_bands", True)
    private = config.get("min_cell_count", 0) > 0
    subgroups = config["subgroups"]
    logrank = tables["logrank"]
    written = []

    def emit(plot, name, section, title, width=7, height=5):
        save(plot, out_dir / name, width, height)
        written.append((name, section, title))

    for set_name, subset in sets.items():
        for endpoint in ("PFS", "OS"):
            data = _subgroup_data(subset, adtte, endpoint)
            if data.empty:
                continue
            title = f"{endpoint}, {set_name}"
            emit(km_plot(data.assign(group="All patients"), title, conf_type=conf_type, ci_bands=ci_bands),
                 f"km_{endpoint.lower()}_{set_name}_all", "survival", title)  # fmt: skip
            if set_name != "all":
                continue
            for var in subgroups:
                known = data[data[var].notna()]
                if known[var].nunique() < 2:
                    continue
                known = known.assign(
                    group=np.where(
                        known[var].astype(int) == 1, f"{label(var)}: yes", f"{label(var)}: no"
                    )
                )
                row = logrank[
                    (logrank["analysis_set"] == set_name)
                    & (logrank["endpoint"] == endpoint)
                    & (logrank["variable"] == var)
                ]
                p = float(row["p"].iloc[0]) if len(row) else None
                t = f"{endpoint} by {label(var)}, {set_name}"
                emit(km_plot(known, t, conf_type=conf_type, ci_bands=ci_bands, p_value=p),
                     f"km_{endpoint.lower()}_{set_name}_{var}", "survival", t)  # fmt: skip
    cox = tables["cox"]
    for endpoint in ("PFS", "OS"):
        multi = cox[
            (cox["analysis_set"] == "all")
            & (cox["endpoint"] == endpoint)
            & (cox["model"] == "multivariable")
        ]
        if multi["hr"].notna().any():
            t = f"Multivariable Cox model of {endpoint}, all patients"
            emit(
                forest_plot(multi, t),
                f"forest_{endpoint.lower()}_all",
                "cox",
                t,
                width=8,
                height=3.5,
            )
    response = tables["response"]
    for set_name in sets:
        part = response[response["analysis_set"] == set_name]
        if part["n_evaluable"].sum() == 0:
            continue
        height = 2 + 0.28 * len(part)
        emit(response_bar_plot(part, f"Best response, {set_name}"), f"response_{set_name}", "response",
             f"Best response by IMWG category, {set_name}", height=height)  # fmt: skip
        emit(rate_plot(part, f"ORR and CBR, {set_name}"), f"rates_{set_name}", "response",
             f"ORR and CBR with exact 95% CIs, {set_name}", height=height)  # fmt: skip
    nadirs = _nadirs_by_patient(adsl, patient_nadirs(adlb))
    if len(nadirs):
        imid = nadirs.assign(
            group=np.where(nadirs["imid_containing"] == 1, "IMiD-containing", "IMiD-free")
        )
        emit(nadir_plot(imid, "group", "Nadir blood counts by IMiD use", points=not private), "nadir_imid", "safety",
             "Nadir blood counts, IMiD-containing vs IMiD-free", height=6)  # fmt: skip
        three = nadirs[nadirs["regimen"].isin(["Ixa-Pd", "Ixa-Rd", "Ixa-Td"])]
        if three["regimen"].nunique() > 1:
            emit(nadir_plot(three, "regimen", "Nadir blood counts by IMiD regimen", points=not private),
                 "nadir_regimen", "safety", "Nadir blood counts, Ixa-Pd vs Ixa-Rd vs Ixa-Td", height=6)  # fmt: skip
    models, preds = tables["exposure_response"], tables.get("exposure_curves")
    if preds is not None and len(preds):
        observed = []
        for m in models.dropna(subset=["slope"]).itertuples():
            below_x, above_x = float(m.median_exposure_below), float(m.median_exposure_above)
            observed += [(m.outcome, below_x, m.observed_below, m.observed_below_ci_lower, m.observed_below_ci_upper),
                         (m.outcome, above_x, m.observed_above, m.observed_above_ci_lower, m.observed_above_ci_upper)]  # fmt: skip
        observed = pd.DataFrame(observed, columns=["outcome", "x", "rate", "lo", "hi"])
        exposure = models["exposure"].iloc[0]
        rows = int(np.ceil(preds["outcome"].nunique() / 3))
        emit(exposure_response_plot(preds, observed, exposure, "Exposure–response"), "exposure_response",
             "exposure", "Exposure–response: fitted probability and observed proportions", width=9, height=2.6 * rows + 1)  # fmt: skip
    if not private:
        months = lambda col: adsl[col].astype(float) / 30.4375  # noqa: E731
        swim = pd.DataFrame({
            "months": months("last_followup_day"),
            "response_month": months("first_response_day") if "first_response_day" in adsl else np.nan,
            "progression_month": months("progression_day"), "death_month": months("death_day"),
        })  # fmt: skip
        emit(swimmer_plot(swim, "Time on study"), "swimmer_all", "swimmer", "Time on study with first response, progression and death",
             height=max(5, len(swim) * 0.045))  # fmt: skip
    return pd.DataFrame(written, columns=["name", "section", "title"])
