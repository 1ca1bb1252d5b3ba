"""The figure of the direct-adjusted survival curves (:func:`rwe.cox_predict.comparative_adjusted`).

Drawn from the averaged curves (aggregates over the analysed cohort), never from patient rows.
"""

from __future__ import annotations

import textwrap

import pandas as pd
from plotnine import (
    aes,
    facet_wrap,
    geom_step,
    ggplot,
    labs,
    scale_color_manual,
    scale_y_continuous,
)

from rwe.plots import OKABE_ITO, rwe_theme


def adjusted_curves_plot(curves: pd.DataFrame, groups: list[str], title: str, caption: str):
    """Direct-adjusted survival of each group, one panel per endpoint.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``endpoint, group, time, surv`` (step functions; each starts at 1 at time 0).
    groups : list of str
        The groups, in the legend's order.
    title, caption : str
        The caption says what computed the curves (model, ties, covariates).
    """
    starts = curves.groupby(["endpoint", "group"], as_index=False).first()
    starts = starts.assign(time=0.0, surv=1.0)
    steps = pd.concat([starts, curves], ignore_index=True).sort_values(
        ["endpoint", "group", "time"], kind="stable"
    )
    order = list(dict.fromkeys(curves["endpoint"]))  # as computed (PFS, OS), not alphabetical
    steps["endpoint"] = pd.Categorical(steps["endpoint"], categories=order)
    plot = ggplot(steps, aes("time", "surv", color="group")) + rwe_theme()
    plot += geom_step(size=0.8)
    plot += facet_wrap("~endpoint")
    plot += scale_color_manual(values=dict(zip(groups, OKABE_ITO, strict=False)), breaks=groups)
    plot += scale_y_continuous(limits=(0, 1), labels=lambda v: [f"{100 * x:.0f}" for x in v])
    caption = "\n".join(textwrap.wrap(caption, 110))
    plot += labs(x="Months", y="Survival, %", color="", title=title, caption=caption)
    return plot
