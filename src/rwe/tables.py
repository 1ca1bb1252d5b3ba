"""Descriptive tables: the baseline characteristics table (Table 1 of an outcomes paper)."""

from __future__ import annotations

import pandas as pd

#: Categorical baseline variables, in display order.
BASELINE_CATEGORICAL = (
    "sex", "diagnosis", "al_amyloidosis", "regimen", "setting", "start_dose_mg", "second_line",
    "more_than_3_lines", "refractory_imid", "refractory_pi", "refractory_cd38",
    "triple_class_refractory", "prior_asct", "prior_allo", "del17p", "t4_14", "gain1q21",
    "high_risk_cyto", "emd", "gfr_le70", "age_ge80", "pn_baseline_grade",
)  # fmt: skip
#: Continuous baseline variables: median and range.
BASELINE_CONTINUOUS = ("age", "years_since_diagnosis", "prior_lines", "gfr")
BASELINE_COLUMNS = [
    "analysis_set",
    "variable",
    "level",
    "n",
    "N",
    "percent",
    "median",
    "min",
    "max",
]


def _level(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def baseline_table(sets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Baseline characteristics per analysis set, as gtsummary's ``tbl_summary`` lays them out.

    Categorical variables: one row per level with ``n`` patients of ``N`` with a known value
    and the percentage of ``N``; a ``missing`` row counts unknown values (percent of all).
    Continuous variables: one row (level ``all``) with ``n`` known, median, min and max.

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets (:func:`rwe.derive.analysis_sets`).

    Returns
    -------
    pandas.DataFrame
        Columns ``analysis_set, variable, level, n, N, percent, median, min, max``.
    """
    rows = []
    for name, adsl in sets.items():
        total = len(adsl)
        rows.append((name, "patients", "all", total, total, 100.0, None, None, None))
        for var in BASELINE_CONTINUOUS:
            if var not in adsl.columns:
                continue
            values = pd.to_numeric(adsl[var], errors="coerce").dropna()
            rows.append((name, var, "all", len(values), total, None,
                         values.median() if len(values) else None,
                         values.min() if len(values) else None,
                         values.max() if len(values) else None))  # fmt: skip
        for var in BASELINE_CATEGORICAL:
            if var not in adsl.columns:
                continue
            known = adsl[var].dropna()
            for level, n in known.value_counts().sort_index().items():
                rows.append((name, var, _level(level), int(n), len(known),
                             100.0 * n / len(known), None, None, None))  # fmt: skip
            missing = total - len(known)
            if missing:
                rows.append((name, var, "missing", missing, total, 100.0 * missing / total,
                             None, None, None))  # fmt: skip
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)
