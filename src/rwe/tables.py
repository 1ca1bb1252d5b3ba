"""Descriptive tables: the baseline characteristics table (Table 1 of an outcomes paper).

:func:`baseline_table` writes the tidy ``baseline.csv``; :func:`baseline_display` lays it out
as gtsummary's ``tbl_summary`` does: one labelled row (with its unit) per continuous or
dichotomous variable, a heading and indented levels for the others, whole numbers as whole
numbers, ``0 (0%)`` for an empty level, percentages of the patients with a known value, and an
"Unknown" row (a count) for every variable with a missing value in some set.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rwe.labels import label

#: Categorical baseline variables, in display order.
BASELINE_CATEGORICAL = (
    "sex",
    "diagnosis",
    "al_amyloidosis",
    "regimen",
    "setting",
    "start_dose_mg",
    "second_line",
    "more_than_3_lines",
    "refractory_imid",
    "refractory_pi",
    "refractory_cd38",
    "triple_class_refractory",
    "prior_asct",
    "prior_allo",
    "del17p",
    "t4_14",
    "gain1q21",
    "high_risk_cyto",
    "emd",
    "gfr_le70",
    "age_ge80",
    "pn_baseline_grade",
)
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
#: After the contract columns: ``continuous``, ``dichotomous`` (0/1: one row, level 1),
#: ``categorical``, ``missing`` (the unknown values of a variable) or ``count`` (patients).
BASELINE_TYPE = "type"
#: Reader's label (with its unit) of each baseline variable that needs more than its flag label
#: (:func:`rwe.labels.label`); ``{gfr_cutoff}`` is filled in from the configuration
#: (:func:`baseline_label`).
BASELINE_LABELS = {
    "patients": "Patients",
    "age": "Age, years",
    "sex": "Sex",
    "diagnosis": "Diagnosis",
    "al_amyloidosis": "AL amyloidosis",
    "years_since_diagnosis": "Time since diagnosis, years",
    "regimen": "Regimen",
    "setting": "Setting",
    "start_dose_mg": "Starting dose of ixazomib, mg",
    "prior_lines": "Prior lines of therapy",
    "second_line": "Second line (one prior line)",
    "refractory_imid": "IMiD refractory",
    "refractory_cd38": "Anti-CD38 refractory",
    "prior_asct": "Prior autologous stem-cell transplant",
    "prior_allo": "Prior allogeneic stem-cell transplant",
    "del17p": "del(17p)",
    "t4_14": "t(4;14)",
    "gain1q21": "gain(1q21)",
    "gfr": "Creatinine clearance (GFR), mL/min/1.73 m²",
    "gfr_le70": "GFR ≤ {gfr_cutoff} mL/min/1.73 m²",
    "age_ge80": "Age ≥ 80 years",
    "pn_baseline_grade": "Peripheral neuropathy at baseline, CTCAE grade",
}
#: Reader's name of a level, where it differs from the code.
LEVEL_LABELS = {
    "sex": {"M": "Male", "F": "Female"},
    "diagnosis": {
        "MM": "Multiple myeloma",
        "MGCS": "MGCS",
        "POEMS": "POEMS syndrome",
        "other": "Other",
    },
    "setting": {"relapse": "Relapse", "maintenance": "Maintenance"},
}
UNKNOWN = "Unknown"


def baseline_label(variable: str, gfr_cutoff: float) -> str:
    """Reader's label of a baseline variable, with its unit and the configured GFR cutoff."""
    if variable in BASELINE_LABELS:
        return BASELINE_LABELS[variable].format(gfr_cutoff=_number_text(gfr_cutoff))
    return label(variable, gfr_cutoff)


def _level(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_dichotomous(values: pd.Series) -> bool:
    """A 0/1 flag (nullable integers or floats holding only 0 and 1)."""
    if not pd.api.types.is_numeric_dtype(values):
        return False
    return set(values.dropna().unique()) <= {0, 1}


def baseline_table(sets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Baseline characteristics per analysis set, as gtsummary's ``tbl_summary`` counts them.

    Categorical variables: one row per level (every level seen in any set, so an empty level
    is a row with ``n`` 0) with ``n`` patients of ``N`` with a known value and the percentage
    of ``N``. Continuous variables: one row (level ``all``) with ``n`` known of ``N``, median,
    min and max. Every variable with a missing value in some set gets a ``missing`` row in
    every set: ``n`` unknown of ``N`` patients (no percentage: percentages are of known
    values).

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets (:func:`rwe.derive.analysis_sets`).

    Returns
    -------
    pandas.DataFrame
        Columns ``analysis_set, variable, level, n, N, percent, median, min, max`` then
        ``type`` (:data:`BASELINE_TYPE`).
    """
    frames = list(sets.values())
    levels, with_missing = {}, set()
    for var in (*BASELINE_CONTINUOUS, *BASELINE_CATEGORICAL):
        present = [f[var] for f in frames if var in f.columns]
        if not present:
            continue
        if any(p.isna().any() for p in present):
            with_missing.add(var)
        if var in BASELINE_CATEGORICAL:
            values = pd.concat(present).dropna()
            kind = "dichotomous" if _is_dichotomous(values) else "categorical"
            known = sorted(values.unique(), key=lambda v: (str(type(v)), v))
            levels[var] = (kind, [0, 1] if kind == "dichotomous" else known)
    rows = []
    nan = np.nan
    for name, adsl in sets.items():
        total = len(adsl)
        rows.append((name, "patients", "all", total, total, 100.0, nan, nan, nan, "count"))

        def missing_row(var, known, name=name, total=total):
            if var in with_missing:
                rows.append(
                    (name, var, "missing", total - known, total, nan, nan, nan, nan, "missing")
                )

        for var in BASELINE_CONTINUOUS:
            if var not in adsl.columns:
                continue
            values = pd.to_numeric(adsl[var], errors="coerce").dropna()
            stats = (values.median(), values.min(), values.max()) if len(values) else (nan,) * 3
            rows.append((name, var, "all", len(values), total, nan, *stats, "continuous"))
            missing_row(var, len(values))
        for var in BASELINE_CATEGORICAL:
            if var not in adsl.columns:
                continue
            known = adsl[var].dropna()
            counts = known.value_counts()
            kind, all_levels = levels[var]
            for level in all_levels:
                n = int(counts.get(level, 0))
                percent = 100.0 * n / len(known) if len(known) else nan
                rows.append((name, var, _level(level), n, len(known), percent, nan, nan, nan, kind))
            missing_row(var, len(known))
    return pd.DataFrame(rows, columns=[*BASELINE_COLUMNS, BASELINE_TYPE])


def _number_text(value, digits: int = 1) -> str:
    """A whole number without decimals, anything else with ``digits`` decimals."""
    value = float(value)
    if math.isnan(value):
        return "—"
    return f"{value:.0f}" if value.is_integer() else f"{value:.{digits}f}"


def _percent_text(percent) -> str:
    return f"{_number_text(percent)}%"


def baseline_cell(row: dict) -> str:
    """One cell of the baseline table: ``n (x%)``, ``median (min–max)`` or a count.

    Whole numbers are shown as whole numbers (``65 (37–86)``); an empty level is ``0 (0%)``; a
    set with no known value shows ``—``. Text put in a count or statistic by small-cell
    suppression is shown as it is.
    """
    kind = row.get(BASELINE_TYPE)
    if isinstance(row["n"], str):
        return row["n"]
    if kind == "continuous":
        if any(isinstance(row[c], str) for c in ("median", "min", "max")):
            return str(row["median"])
        if int(row["n"]) == 0:
            return "—"
        return (
            f"{_number_text(row['median'])} ({_number_text(row['min'])}–{_number_text(row['max'])})"
        )
    if kind in ("missing", "count"):
        return f"{int(row['n'])}"
    if isinstance(row["percent"], str):
        return f"{int(row['n'])} ({row['percent']})"
    if pd.isna(row["percent"]):
        return "—"
    return f"{int(row['n'])} ({_percent_text(row['percent'])})"


def baseline_display(baseline: pd.DataFrame, gfr_cutoff: float) -> pd.DataFrame:
    """The baseline table laid out for a manuscript, one column per analysis set.

    Parameters
    ----------
    baseline : pandas.DataFrame
        :func:`baseline_table` (possibly small-cell suppressed).
    gfr_cutoff : float
        The configured cutoff of ``gfr_le70`` (its label).

    Returns
    -------
    pandas.DataFrame
        ``characteristic`` (the label), ``indent`` (0 for a variable, 1 for a level or the
        Unknown row), ``heading`` (True for a categorical variable's label row, which has no
        cells), then one column per analysis set (cells of :func:`baseline_cell`), in the
        order of the variables in ``baseline``. The ``patients`` row is left out: the sets'
        sizes go in the column headers.
    """
    if baseline.empty:
        return pd.DataFrame(columns=["characteristic", "indent", "heading"])
    b = baseline.copy()
    if BASELINE_TYPE not in b.columns:  # a baseline.csv written before the type column
        b[BASELINE_TYPE] = np.where(b["median"].notna(), "continuous", "categorical")
    b["cell"] = [baseline_cell(r) for r in b.to_dict("records")]
    sets = list(dict.fromkeys(b["analysis_set"]))
    rows = []
    for var, part in b[b["variable"] != "patients"].groupby("variable", sort=False):
        kind = part[BASELINE_TYPE].iloc[0]
        by_level = {
            level: dict(zip(p["analysis_set"], p["cell"], strict=True))
            for level, p in part.groupby("level", sort=False)
        }
        name = baseline_label(var, gfr_cutoff)
        if kind == "dichotomous":
            rows.append((name, 0, False, by_level.get("1", {})))
        elif kind == "continuous":
            rows.append((name, 0, False, by_level.get("all", {})))
        else:
            rows.append((name, 0, True, {}))
            for level, cells in by_level.items():
                if level != "missing":
                    rows.append((LEVEL_LABELS.get(var, {}).get(level, level), 1, False, cells))
        if "missing" in by_level:
            rows.append((UNKNOWN, 1, False, by_level["missing"]))
    cells = [
        (label, indent, heading, *[by_set.get(s, "" if heading else "—") for s in sets])
        for label, indent, heading, by_set in rows
    ]
    return pd.DataFrame(cells, columns=["characteristic", "indent", "heading", *sets])
