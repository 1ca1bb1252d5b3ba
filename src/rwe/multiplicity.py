"""The multiplicity policy: prespecified (primary) comparisons versus exploratory ones.

The protocol names its primary comparisons before the results (config
``primary_comparisons``: endpoint × variable pairs; the default is the published study's, PFS
and OS by each multivariable Cox covariate and by regimen). Every other test is exploratory.
Tables carry the label in an ``analysis`` column; Kaplan–Meier plots show a p value only for a
prespecified comparison; the methods say which comparisons were prespecified and how many
exploratory tests the report holds, none adjusted for multiplicity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

PRESPECIFIED = "prespecified"
EXPLORATORY = "exploratory"
#: The rows of a prespecified sensitivity definition (PFS under the other death rule).
SENSITIVITY = "sensitivity"
#: The analysis set whose comparisons can be prespecified (regimen subsets are exploratory).
PRIMARY_SET = "all"


def primary_pairs(entries: Iterable[Mapping] | None) -> tuple[tuple[str, str], ...]:
    """``(endpoint, variable)`` of each configured primary comparison, in config order.

    Parameters
    ----------
    entries : iterable of mapping
        Config ``primary_comparisons``: ``{endpoint: PFS, variable: gfr_le70}`` each.
    """
    pairs = [(str(e["endpoint"]).upper(), str(e["variable"])) for e in entries or ()]
    return tuple(dict.fromkeys(pairs))


def is_prespecified(
    analysis_set: str, endpoint: str, variable: str, primary: Iterable[tuple[str, str]]
) -> bool:
    """True for a comparison of all patients that the protocol named (``primary``)."""
    return analysis_set == PRIMARY_SET and (str(endpoint).upper(), str(variable)) in set(primary)


def label_analysis(
    table: pd.DataFrame,
    primary: Iterable[tuple[str, str]],
    variable: str = "variable",
    only_models: Iterable[str] | None = None,
) -> pd.DataFrame:
    """``table`` with an ``analysis`` column: ``prespecified`` or ``exploratory`` per row.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``analysis_set``, ``endpoint`` and the ``variable`` column (``variable`` for
        log-rank rows, ``term`` for Cox rows).
    primary : iterable of (str, str)
        :func:`primary_pairs`.
    only_models : iterable of str, optional
        With a ``model`` column: only rows of these models can be prespecified (the
        multivariable Cox model is the prespecified analysis of its covariates; univariable
        fits beside it are exploratory).
    """
    primary = set(primary)
    out = table.copy()
    if out.empty:
        out["analysis"] = pd.Series(dtype=object)
        return out
    flags = [
        is_prespecified(s, e, v, primary)
        for s, e, v in zip(out["analysis_set"], out["endpoint"], out[variable], strict=True)
    ]
    prespecified = pd.Series(flags, index=out.index)
    if only_models is not None and "model" in out.columns:
        prespecified &= out["model"].isin(list(only_models))
    out["analysis"] = prespecified.map({True: PRESPECIFIED, False: EXPLORATORY})
    return out


def primary_text(primary: Iterable[tuple[str, str]], describe) -> str:
    """The prespecified comparisons in words (``describe`` names a variable)."""
    by_variable: dict[str, list[str]] = {}
    for endpoint, variable in primary:
        by_variable.setdefault(variable, []).append(endpoint)
    parts = [f"{' and '.join(eps)} by {describe(v)}" for v, eps in by_variable.items()]
    return "; ".join(parts)
