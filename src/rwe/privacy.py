"""Small-cell suppression of the report and of the shareable tables (DESIGN.md §8).

With ``min_cell_count`` k > 0:

- **Primary suppression.** Every count from 1 to k − 1 is written ``<k``. Zero identifies nobody
  and is kept. A statistic of a group that small (its median, range, CI, hazard ratio) is
  written ``suppressed``, and so is a rate whose numerator or denominator is hidden (7.5 % of 40
  tells the count 3 as surely as the count does).
- **Complementary suppression.** Cells that add up to a total shown in the same table (the
  response categories to ``n_evaluable``, the levels of a variable to its ``N``, the subgroup
  levels to the whole set, the regimens to all patients, the nested grade groups of an adverse
  event, the two sides of an attrition step) are a *margin*. In a margin with one hidden cell,
  or hidden cells that add up to less than k, that cell would follow by subtraction; the
  standard remedy is applied: the next-smallest shown cell of the margin is hidden too (written
  ``suppressed``), until no margin gives a hidden cell away. A difference of two shown counts
  that is not itself a cell (the patients with a missing value, the patients whose worst grade
  is 1) counts as a hidden cell when it is small, so it cannot be told by subtraction either.
- **Text.** Numbers of patients written in notes ("3 patients with a missing covariate left
  out") follow the same rule.

Margins are within one table. The same count shown in two tables (a subgroup's size in the
response and the Kaplan–Meier tables) is suppressed alike in both, because the same rule sees
the same numbers; a difference between two tables, or between two data cuts released one after
the other, is not protected (no perturbation is attempted).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rwe.cuts import COUNT_STATISTICS
from rwe.published import published_comparison

SUPPRESSED = "suppressed"

#: A cell of a table: (position of its row, column).
Cell = tuple[int, str]

#: Best-response categories of the response table that add up to ``n_evaluable``.
_EVALUABLE = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
_RESPONSE_COUNTS = ["n_evaluable", *_EVALUABLE, "NE", "n_not_evaluable", "n_missing"]
#: Nested grade groups of the adverse-event table, widest first.
_GRADE_GROUPS = ["any", "ge2", "ge3", "ge4"]
#: Nested grade bands of the hematologic toxicity table (rwe.safety.TOXICITY_GRADE_GROUPS).
_TOXICITY_GRADES = ["any", "ge3", "ge4"]
#: What the treatment-emergent window did with each record (safety_window.csv).
_WINDOW_PARTS = ["n_before_window", "n_after_window", "n_implausible", "n_analysed"]
#: The two groups of the IMiD comparison in the nadir table (rwe.safety.IMID_GROUPS).
_IMID_GROUPS = ("IMiD-containing", "IMiD-free")
#: Columns whose free text may carry a number of patients.
_TEXT_COLUMNS = ("note", "reason")
#: A number of patients, events or sites written in a note ("3 patients", "2 of 40 patients"),
#: not a threshold ("fewer than 10 events").
_COUNT_IN_TEXT = re.compile(
    r"(?<![\w.,<≥≤])(?<!than )(\d+)(?=(?: of [\d,]+)? (?:patients?|events?|sites?)\b)"
)


@dataclass(frozen=True)
class Margin:
    """Cells of one table that add up: ``total`` = sum of ``parts``.

    Parameters
    ----------
    parts : tuple
        Cells ``(row, column)``, or numbers for parts that are not cells but are shown
        elsewhere (the patients with a missing value of a subgroup, in ``n_missing``).
    total : cell, number or None
        The cell (or known number) the parts add up to. None: the parts are only linked (a
        signed relation, as previous + difference = current), so any one follows from the rest.
    unknown : float
        A part that is not a cell and not shown anywhere (the patients whose worst grade is 1):
        it protects the hidden cells when it is large, and needs protecting when it is small.
    """

    parts: tuple
    total: Cell | float | None = None
    unknown: float = 0.0


def _numerator(rate: str, size: str) -> Callable[[pd.DataFrame], pd.Series]:
    """Count behind a proportion column (``rate * size``), for tables that hold only the rate."""

    def count(frame: pd.DataFrame) -> pd.Series:
        rates = pd.to_numeric(frame[rate], errors="coerce")
        sizes = pd.to_numeric(frame[size], errors="coerce")
        return (rates * sizes).round()

    return count


def _count_on_rows(column: str, statistics, key: str = "statistic") -> Callable:
    """``column`` where it holds a count: on the rows whose ``key`` is one of ``statistics``.

    For long tables with one row per statistic (cox_diagnostics, changes), where the same
    column holds counts on some rows and estimates on others. Negative numbers (a fall from
    one data cut to the next) are counts too: their size is returned.
    """

    def count(frame: pd.DataFrame) -> pd.Series:
        is_count = frame[key].isin(list(statistics))
        return pd.to_numeric(frame[column], errors="coerce").where(is_count).abs()

    return count


_DIAGNOSTIC_COUNT = _count_on_rows("value", ("n", "events", "n_dropped"))


def _agreement_size(frame: pd.DataFrame) -> pd.Series:
    """Patients compared in response_agreement (its ``n`` row), on every row."""
    n = pd.to_numeric(frame["value"], errors="coerce").where(frame["statistic"] == "n").max()
    return pd.Series(n, index=frame.index)


# Margins: each builder takes the table (rows at positions 0..n-1, helper columns included) and
# its numbers, and returns the margins found in it; absent columns give none.


def _across(total: str, parts: Sequence[str]) -> Callable:
    """One margin per row: ``total`` = sum of the ``parts`` columns of that row."""

    def build(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
        if total not in frame or not set(parts) <= set(frame.columns):
            return []
        return [Margin(tuple((i, p) for p in parts), (i, total)) for i in range(len(frame))]

    return build


def _linked(columns: Sequence[str]) -> Callable:
    """One signed relation per row between ``columns``: any one follows from the others."""

    def build(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
        if not set(columns) <= set(frame.columns):
            return []
        return [Margin(tuple((i, c) for c in columns)) for i in range(len(frame))]

    return build


def _add_up(
    numbers: Mapping[str, np.ndarray],
    total: int,
    rows: Iterable[int],
    column: str,
    rest_shown: bool = True,
) -> Margin | None:
    """The margin of ``rows`` under the ``total`` row in ``column``.

    What the rows leave of the total is a part too: shown elsewhere (``rest_shown``) or not.
    """
    rows = list(rows)
    values = numbers[column]
    whole, parts = values[total], values[rows]
    if not np.isfinite(whole) or not np.isfinite(parts).all():
        return None
    rest = whole - parts.sum()
    if rest < 0:  # overlapping groups: not a margin
        return None
    cells = tuple((int(r), column) for r in rows)
    if rest_shown:
        return Margin(cells + ((rest,) if rest else ()), (total, column))
    return Margin(cells, (total, column), unknown=rest)


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> Iterable[np.ndarray]:
    """Row positions of each group of ``keys`` (the ones present), in a stable order."""
    keys = [k for k in keys if k in frame.columns]
    if not keys:
        yield np.arange(len(frame))
        return
    yield from frame.reset_index(drop=True).groupby(keys, sort=True, dropna=False).indices.values()


def _parts_of(
    keys: Sequence[str],
    by: str,
    whole: str,
    partitions: Callable,
    columns: Sequence[str],
    shown: Sequence[str] = (),
) -> Callable:
    """Within each group of ``keys``, the rows of each partition add up to the ``whole`` row.

    ``partitions(values of by)`` gives lists of ``by`` values that split the whole. What they
    leave of it (the patients whose subgroup flag is missing) is shown elsewhere for the
    ``shown`` columns (``n_missing`` is the rest of ``n``) and unknown for the others.
    """

    def build(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
        if by not in frame:
            return []
        margins = []
        labels = frame[by].astype(str).to_numpy()
        for rows in _groups(frame, keys):
            totals = [r for r in rows if labels[r] == whole]
            if len(totals) != 1:
                continue
            for part in partitions(sorted(set(labels[rows]) - {whole})):
                members = [r for r in rows if labels[r] in part]
                for column in (c for c in columns if c in frame.columns):
                    margins.append(_add_up(numbers, totals[0], members, column, column in shown))
        return [m for m in margins if m is not None]

    return build


def _nested(keys: Sequence[str], by: str, order: Sequence[str], column: str, top: str) -> Callable:
    """Counts of nested groups (any ⊇ grade ≥2 ⊇ …), under the size ``top`` of the set.

    Each count is the next one plus the patients between them (a number, not a cell).
    """

    def build(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
        if not {by, column, top} <= set(frame.columns):
            return []
        margins = []
        rank = frame[by].map({g: i for i, g in enumerate(order)}).to_numpy()
        values = numbers[column]
        for rows in _groups(frame, keys):
            chain = sorted((r for r in rows if rank[r] == rank[r]), key=lambda r: rank[r])
            cells = [(chain[0], top)] + [(r, column) for r in chain] if chain else []
            for (upper, upper_col), (lower, lower_col) in zip(cells, cells[1:], strict=False):
                above = numbers[upper_col][upper]
                if np.isfinite(above) and np.isfinite(values[lower]):
                    rest = above - values[lower]
                    margins.append(Margin(((lower, lower_col),), (upper, upper_col), rest))
        return margins

    return build


def _set_sizes(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
    """The sizes ``N`` of the regimens add up to the size of 'all' (one row of each set)."""
    if not {"analysis_set", "N"} <= set(frame.columns):
        return []
    first = frame.reset_index(drop=True).groupby("analysis_set", sort=True).head(1)
    totals = first.index[first["analysis_set"] == "all"]
    if len(totals) != 1:
        return []
    margin = _add_up(numbers, int(totals[0]), first.index[first["analysis_set"] != "all"], "N")
    return [margin] if margin is not None else []


def _by_set(column: str, key: str = "analysis_set") -> Callable:
    """``column`` holds one number per analysis set, repeated on every row of the set."""

    def build(frame: pd.DataFrame) -> list[list[Cell]]:
        if column not in frame:
            return []
        return [[(int(r), column) for r in rows] for rows in _groups(frame, [key])]

    return build


def _same_within(column: str, keys: Sequence[str]) -> Callable:
    """``column`` holds one number per group of ``keys``, repeated on every row of the group."""

    def build(frame: pd.DataFrame) -> list[list[Cell]]:
        if column not in frame:
            return []
        return [[(int(r), column) for r in rows] for rows in _groups(frame, keys)]

    return build


def _each_row(*columns: str) -> Callable:
    """``columns`` hold the same number on each row (NE and n_not_evaluable)."""

    def build(frame: pd.DataFrame) -> list[list[Cell]]:
        if not set(columns) <= set(frame.columns):
            return []
        return [[(i, c) for c in columns] for i in range(len(frame))]

    return build


def _cox_margins(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
    """Each model's ``n`` and ``n_dropped`` add up to the size of its set (the same for all)."""
    if not {"n", "n_dropped"} <= set(frame.columns):
        return []
    margins = []
    for rows in _groups(frame, ["analysis_set", "endpoint"]):
        sizes = (numbers["n"] + numbers["n_dropped"])[rows]
        if np.isfinite(sizes).any():
            whole = float(np.nanmax(sizes))
            margins += [Margin(((r, "n"), (r, "n_dropped")), whole) for r in rows]
    return margins


def _baseline_margins(frame: pd.DataFrame, numbers: Mapping[str, np.ndarray]) -> list[Margin]:
    """The levels of a characteristic (and its missing values) add up to ``N``."""
    if not {"variable", "n", "N"} <= set(frame.columns):
        return []
    margins = []
    for rows in _groups(frame, ["analysis_set", "variable"]):
        values, size = numbers["n"][rows], numbers["N"][rows[0]]
        if np.isfinite(values).all() and np.isfinite(size) and size >= values.sum():
            rest = size - values.sum()
            parts = tuple((int(r), "n") for r in rows) + ((rest,) if rest else ())
            margins.append(Margin(parts, (int(rows[0]), "N")))
    return margins


def _regimens(groups: list[str]) -> list[list[str]]:
    """Partitions of a nadir set: IMiD-containing vs -free, and the regimens."""
    imid = [g for g in groups if g in _IMID_GROUPS]
    return [imid, [g for g in groups if g not in _IMID_GROUPS]]


def _each_level(variables: list[str]) -> list[list[str]]:
    """The levels of each subgroup variable split the whole set (one partition per variable)."""
    return [[variable] for variable in variables]


def _every_set(sets: list[str]) -> list[list[str]]:
    """The regimens of the adverse-event table: every regimen has its rows, so they split 'all'."""
    return [sets]


#: Per output table:
#:
#: - ``counts``: columns of numbers of patients (or events); 1..k-1 is written ``<k``.
#: - ``derived``: helper counts (the numerator of a rate) computed from the table, used by the
#:   other keys and dropped afterwards.
#: - ``dependent``: statistic -> counts whose smallness hides it (the median of a small group).
#: - ``reveals``: statistic -> counts it gives away, hidden whenever one of them is hidden for
#:   any reason (a percentage and its count).
#: - ``margins``: builders of the margins of complementary suppression.
#: - ``same``: builders of groups of cells that hold one number (hidden together).
RULES: dict[str, dict] = {
    "attrition": {
        "counts": ["n_in", "n_excluded", "n_out"],
        "margins": [_across("n_in", ["n_excluded", "n_out"])],
    },
    "data_quality": {
        "counts": ["n", "n_missing"],
        "reveals": {"percent_missing": ["n_missing", "n"]},
    },
    "plausibility": {"counts": ["n_rows"]},
    "baseline": {
        "counts": ["n", "N"],
        "dependent": {c: ["n", "N"] for c in ("median", "min", "max")},
        "reveals": {"percent": ["n", "N"]},
        "margins": [_baseline_margins],
        "same": [_by_set("N")],
    },
    "response": {
        "counts": _RESPONSE_COUNTS,
        "derived": {
            "_orr_n": _numerator("orr", "n_evaluable"),
            "_cbr_n": _numerator("cbr", "n_evaluable"),
        },
        "reveals": {
            **{c: ["n_evaluable", "_orr_n"] for c in ("orr", "orr_ci_lower", "orr_ci_upper")},
            **{c: ["n_evaluable", "_cbr_n"] for c in ("cbr", "cbr_ci_lower", "cbr_ci_upper")},
        },
        "margins": [
            _across("n_evaluable", _EVALUABLE),
            _across("_orr_n", _EVALUABLE[:4]),
            _across("_cbr_n", ["_orr_n", "MR"]),
            _parts_of(
                ["analysis_set"],
                "variable",
                "all",
                _each_level,
                ["n_evaluable", *_EVALUABLE, "NE", "_orr_n", "_cbr_n"],
            ),
        ],
        "same": [_each_row("NE", "n_not_evaluable")],
    },
    "response_tests": {
        "counts": ["n_1", "n_0"],
        "derived": {"_r1": _numerator("rate_1", "n_1"), "_r0": _numerator("rate_0", "n_0")},
        "dependent": {
            c: ["n_1", "n_0", "_r1", "_r0"] for c in ("odds_ratio", "or_ci_lower", "or_ci_upper")
        },
        "reveals": {"rate_1": ["n_1", "_r1"], "rate_0": ["n_0", "_r0"]},
    },
    "response_agreement": {
        "derived": {"_count": _count_on_rows("value", ("n", "count")), "_n": _agreement_size},
        "dependent": {"ci_lower": ["_n"], "ci_upper": ["_n"]},
        "reveals": {"value": ["_count", "_n"]},
    },
    "duration_of_response": {
        "counts": ["n", "events", "n_undated"],
        "dependent": {
            c: ["n"] for c in ("median", "ci_lower", "ci_upper", "ttr_median", "ttr_min", "ttr_max")
        },
    },
    "km_medians": {
        "counts": ["n", "events", "n_missing"],
        "dependent": {c: ["n"] for c in ("median", "ci_lower", "ci_upper")},
        "margins": [
            _parts_of(
                ["analysis_set", "endpoint"], "variable", "all", _each_level, ["n", "events"], ["n"]
            )
        ],
    },
    "km_landmarks": {
        "counts": ["n_risk"],
        "margins": [
            _parts_of(
                ["analysis_set", "endpoint", "month"], "variable", "all", _each_level, ["n_risk"]
            )
        ],
    },
    "logrank": {"counts": ["n_missing"]},
    "cox": {
        "counts": ["n", "events", "n_dropped", "n_0", "events_0", "n_1", "events_1"],
        "dependent": {
            c: ["n", "events"]
            for c in ("hr", "ci_lower", "ci_upper", "firth_hr", "firth_ci_lower", "firth_ci_upper")
        },
        "margins": [
            _cox_margins,
            _across("n", ["n_0", "n_1"]),
            _across("events", ["events_0", "events_1"]),
        ],
    },
    "subgroup_interactions": {
        "counts": ["n", "events"],
        "dependent": {c: ["n", "events"] for c in ("hr", "ci_lower", "ci_upper")},
    },
    "landmark": {
        "counts": ["n", "events", "n_not_at_risk", "n_unknown"],
        "dependent": {
            c: ["n", "events"]
            for c in ("median", "ci_lower", "ci_upper", "hr", "hr_ci_lower", "hr_ci_upper")
        },
    },
    "cox_time_dependent": {
        "counts": ["n", "events", "n_rows", "n_dropped", "n_unknown"],
        "dependent": {c: ["n", "events"] for c in ("hr", "ci_lower", "ci_upper")},
    },
    "cox_diagnostics": {"derived": {"_count": _DIAGNOSTIC_COUNT}, "reveals": {"value": ["_count"]}},
    # Largest |dfbetas| per term and the patients above the cutoff: aggregates, no patient ids.
    "cox_influence": {"counts": ["n", "n_above"], "dependent": {"max_abs_dfbetas": ["n"]}},
    "site_summary": {
        "counts": ["n", "pfs_events", "os_events", "n_evaluable"],
        "derived": {
            "_orr_n": _numerator("orr", "n_evaluable"),
            "_cbr_n": _numerator("cbr", "n_evaluable"),
        },
        "dependent": {
            **{
                f"{e}_{c}": ["n"] for e in ("pfs", "os") for c in ("median", "ci_lower", "ci_upper")
            },
            **{c: ["n"] for c in ("median_followup", "followup_ci_lower", "followup_ci_upper")},
        },
        "reveals": {
            **{c: ["n_evaluable", "_orr_n"] for c in ("orr", "orr_ci_lower", "orr_ci_upper")},
            **{c: ["n_evaluable", "_cbr_n"] for c in ("cbr", "cbr_ci_lower", "cbr_ci_upper")},
        },
    },
    "logrank_stratified": {"counts": ["n_missing"]},
    "cox_stratified": {
        "counts": ["n", "events", "n_dropped"],
        "dependent": {
            c: ["n", "events"]
            for c in ("hr", "ci_lower", "ci_upper", "firth_hr", "firth_ci_lower", "firth_ci_upper")
        },
        "margins": [_cox_margins],
    },
    "cox_stratified_diagnostics": {
        "derived": {"_count": _DIAGNOSTIC_COUNT},
        "reveals": {"value": ["_count"]},
    },
    "site_meta": {
        "counts": ["n", "events"],
        "dependent": {c: ["n", "events"] for c in ("log_hr", "se", "hr", "ci_lower", "ci_upper")},
    },
    "site_contributions": {},  # yes/no per site and analysis: no counts
    "comparative_attrition": {"counts": ["n_in", "n_excluded", "n_out"]},
    "comparative_effects": {
        "counts": ["n", "events"],
        "dependent": {c: ["n", "events"] for c in ("hr", "ci_lower", "ci_upper")},
    },
    "competing_risks": {"counts": ["n_risk"]},
    # Direct-adjusted survival at the landmarks: averages over the analysed cohort.
    "comparative_adjusted": {"counts": ["n", "events"], "dependent": {"estimate": ["n", "events"]}},
    # Effective sample sizes: in the unweighted sample they are the groups' sizes.
    "ps_balance": {"counts": ["ess_treated", "ess_control"]},
    "ps_model": {},  # coefficients of the propensity model: no counts
    "followup": {},  # median follow-up of a whole set (its size is in km_medians): no counts
    "exposure_predictions": {},  # model predictions at chosen exposures: no counts
    "rmst": {},  # restricted means and their differences: no counts
    "target_trial": {},  # the protocol, written from the config: no counts
    # Weights of a group are statistics of its patients: hidden with the group's size.
    "ps_weights": {
        "counts": ["n", "n_outside_support", "ess"],
        "dependent": {
            c: ["n"]
            for c in (
                "weight_min",
                "weight_p05",
                "weight_p25",
                "weight_median",
                "weight_p75",
                "weight_p95",
                "weight_max",
                "weight_sum",
            )
        },
    },
    # Estimates and intervals; replicates and failed count bootstrap replicates, not patients.
    "comparative_bootstrap": {},
    "comparative_sensitivity": {
        "counts": ["n", "ess_treated", "ess_control"],
        "dependent": {c: ["n"] for c in ("hr", "ci_lower", "ci_upper")},
    },
    "conventions_comparison": {
        "counts": ["n", "events"],
        "dependent": {
            f"{side}_{c}": ["n", "events"]
            for side in ("r", "sas")
            for c in ("value", "ci_lower", "ci_upper")
        },
    },
    "comparative_km": {
        "counts": ["n_risk"],
        "dependent": {c: ["n_risk"] for c in ("estimate", "ci_lower", "ci_upper")},
    },
    # An aggregate-only site's export (rwe.aggregates), suppressed at the site before it leaves.
    "aggregate_cox": {
        "counts": ["n", "events", "n_dropped"],
        "dependent": {c: ["n", "events"] for c in ("log_hr", "variance")},
    },
    "aggregate_km_landmarks": {
        "counts": ["n", "n_risk"],
        "dependent": {c: ["n"] for c in ("surv", "ci_lower", "ci_upper")},
    },
    "aggregate_km_medians": {
        "counts": ["n", "events"],
        "dependent": {
            c: ["n"]
            for c in (
                "median",
                "ci_lower",
                "ci_upper",
                "median_followup",
                "followup_ci_lower",
                "followup_ci_upper",
            )
        },
    },
    "aggregate_response": {
        "counts": ["n", *_RESPONSE_COUNTS[:9], "n_not_evaluable", "orr_n", "cbr_n"],
        "margins": [
            _across("n_evaluable", _EVALUABLE),
            _across("orr_n", _EVALUABLE[:4]),
            _across("cbr_n", ["orr_n", "MR"]),
        ],
    },
    "changes": {
        "derived": {
            "_previous": _count_on_rows("previous", COUNT_STATISTICS),
            "_current": _count_on_rows("current", COUNT_STATISTICS),
            "_difference": _count_on_rows("difference", COUNT_STATISTICS),
        },
        "dependent": {"difference": ["_previous", "_current"]},
        "reveals": {
            "previous": ["_previous"],
            "current": ["_current"],
            "difference": ["_difference"],
        },
        "margins": [_linked(["_previous", "_difference", "_current"])],
    },
    "changes_patients": {
        "counts": ["n_previous", "n_current", "added", "removed", "outcome_changed"],
        "margins": [_linked(["n_previous", "added", "removed", "n_current"])],
    },
    "adverse_events": {
        "counts": ["n", "N"],
        "reveals": {c: ["n", "N"] for c in ("percent", "ci_lower", "ci_upper")},
        "margins": [
            _nested(["analysis_set", "category", "term"], "grade_group", _GRADE_GROUPS, "n", "N"),
            _parts_of(
                ["category", "term", "grade_group"], "analysis_set", "all", _every_set, ["n"], ["n"]
            ),
            _set_sizes,
        ],
        "same": [_by_set("N")],
    },
    "hematologic_toxicity": {
        "counts": ["n", "N", "n_with_labs"],
        "reveals": {c: ["n", "N"] for c in ("percent", "ci_lower", "ci_upper")},
        "margins": [
            _nested(["analysis_set", "test", "source"], "grade_group", _TOXICITY_GRADES, "n", "N"),
            _parts_of(
                ["test", "grade_group", "source"],
                "analysis_set",
                "all",
                _every_set,
                ["n", "n_with_labs"],
                ["n", "n_with_labs"],
            ),
            _set_sizes,
        ],
        "same": [_by_set("N"), _same_within("n_with_labs", ["analysis_set", "test"])],
    },
    "safety_window": {
        "counts": [*_WINDOW_PARTS, "n_records"],
        "margins": [_across("n_records", _WINDOW_PARTS)],
    },
    "nadir": {
        "counts": ["n"],
        "dependent": {c: ["n"] for c in ("median", "min", "max")},
        "margins": [_parts_of(["analysis_set", "test"], "group", "all", _regimens, ["n"], ["n"])],
    },
    "nadir_tests": {"counts": ["n_1", "n_2"], "dependent": {"W": ["n_1", "n_2"]}},
    "exposure_response": {
        "counts": ["n", "events"],
        "dependent": {
            c: ["events"]
            for c in (
                "observed_below",
                "observed_below_ci_lower",
                "observed_below_ci_upper",
                "observed_above",
                "observed_above_ci_lower",
                "observed_above_ci_upper",
            )
        },
    },
    # Numbers of patients of this run (the patients, the response-evaluable); its rates are
    # hidden by :func:`suppress_tables`, which knows the tables they come from.
    "published_comparison": {
        "derived": {"_count": _count_on_rows("this_run", ("n",), key="unit")},
        "reveals": {"this_run": ["_count"]},
    },
}


def is_small(values: pd.Series, k: int) -> pd.Series:
    """True where a value is a count from 1 to k − 1 (text, blanks and zero are not)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return (numbers > 0) & (numbers < k)


def _value(numbers: Mapping[str, np.ndarray], part) -> float:
    return float(numbers[part[1]][part[0]]) if isinstance(part, tuple) else float(part)


def _give_away(
    margin: Margin, numbers: Mapping[str, np.ndarray], hidden: Mapping, k: int
) -> Cell | None:
    """The cell to hide next so that ``margin`` tells no hidden cell; None when it tells none.

    A margin gives a hidden cell away when exactly one of its parts is hidden (a number counts
    as hidden when it is small, an unknown part always, but it is no secret when it is large),
    or when its total is shown and its hidden parts add up to 1..k-1. The next cell to hide is
    the smallest shown part (non-zero first), else the total.
    """
    cells = [p for p in margin.parts if isinstance(p, tuple)]
    hidden_parts = [p for p in cells if p in hidden]
    hidden_parts += [p for p in margin.parts if not isinstance(p, tuple) and 0 < p < k]
    total_cell = isinstance(margin.total, tuple)
    total_hidden = total_cell and margin.total in hidden
    hidden_parts += [margin.unknown] if margin.unknown else []
    # One hidden part follows from the others; a large unknown part is no secret.
    tells = len(hidden_parts) + total_hidden == 1 and not margin.unknown >= k
    if not tells and margin.total is not None and not total_hidden:
        hidden_sum = sum(_value(numbers, p) for p in hidden_parts)
        tells = 0 < hidden_sum < k
    if not tells:
        return None
    shown = [p for p in cells if p not in hidden and np.isfinite(_value(numbers, p))]
    shown.sort(key=lambda p: (_value(numbers, p) == 0, _value(numbers, p), p))
    if total_cell and not total_hidden:
        shown.append(margin.total)
    return shown[0] if shown else None


def complementary_cells(
    numbers: Mapping[str, np.ndarray],
    primary: set[Cell],
    margins: Sequence[Margin],
    same: Sequence[Sequence[Cell]],
    k: int,
) -> set[Cell]:
    """Cells to hide besides ``primary`` so that no margin gives a hidden cell away.

    Parameters
    ----------
    numbers : mapping of str to numpy.ndarray
        Each column of the table as numbers (rows at positions 0..n-1; text is NaN).
    primary : set of (int, str)
        Cells hidden because they are small.
    margins : sequence of Margin
        What adds up in the table.
    same : sequence of sequences of cells
        Cells that show one number: hidden one, hidden all.
    k : int
        ``min_cell_count``.

    Returns
    -------
    set of (int, str)
        The complementary cells (none of ``primary``): the smallest shown cell of each margin
        that would otherwise tell a hidden one, repeated until no margin does (the usual
        secondary cell suppression; not an optimal one).
    """
    hidden = dict.fromkeys(primary, True)
    changed = True
    while changed:
        changed = False
        for margin in margins:
            cell = _give_away(margin, numbers, hidden, k)
            if cell is not None:
                hidden[cell], changed = False, True
        for cells in same:
            if any(c in hidden for c in cells) and not all(c in hidden for c in cells):
                hidden.update({c: False for c in cells if c not in hidden})
                changed = True
    return {cell for cell, is_primary in hidden.items() if not is_primary}


def mask_counts_in_text(texts: pd.Series, k: int) -> pd.Series:
    """Write the small numbers of patients in notes as ``<k`` ("<11 patients … left out")."""

    def mask(text):
        if not isinstance(text, str):
            return text
        return _COUNT_IN_TEXT.sub(lambda m: f"<{k}" if 0 < int(m[1]) < k else m[1], text)

    return texts.map(mask)


def suppress_small_cells(
    table: pd.DataFrame,
    k: int,
    count_columns: Sequence[str],
    dependent_columns: Mapping[str, Sequence[str]] | Sequence[str] = (),
    *,
    reveals: Mapping[str, Sequence[str]] | None = None,
    margins: Sequence[Callable] = (),
    same: Sequence[Callable] = (),
) -> pd.DataFrame:
    """Write counts from 1 to k − 1 as ``<k``, hide what they reveal and their complements.

    Parameters
    ----------
    table : pandas.DataFrame
        An aggregate table (one row per estimate).
    k : int
        ``min_cell_count``. With k ≤ 1 nothing is small and an unchanged copy is returned.
    count_columns : sequence of str
        Columns holding numbers of patients; absent columns are skipped. Helper columns (not
        shown) may be among them.
    dependent_columns : mapping or sequence of str
        Statistics of small groups. A mapping names, for each statistic, the count columns
        whose smallness hides it; a plain list hides the statistic wherever any of
        ``count_columns`` is small.
    reveals : mapping, optional
        Statistic -> count columns it gives away: hidden wherever one of them is hidden,
        small or complementary.
    margins, same : sequences of callables
        Builders of the table's margins and of its cells that hold one number (see
        :data:`RULES`), for complementary suppression.

    Returns
    -------
    pandas.DataFrame
        A copy with the same columns and index; small counts hold ``<k``; complementary counts
        and hidden statistics hold ``suppressed``; small numbers of patients in notes ``<k``.
    """
    out = table.copy()
    if k <= 1 or table.empty:
        return out
    if not isinstance(dependent_columns, Mapping):
        dependent_columns = {c: list(count_columns) for c in dependent_columns}
    frame = table.reset_index(drop=True)
    numbers = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in frame}
    counts = [c for c in count_columns if c in frame.columns]
    small = {c: is_small(frame[c], k).to_numpy() for c in counts}
    primary = {(int(i), c) for c in counts for i in np.flatnonzero(small[c])}
    built_margins = [m for build in margins for m in build(frame, numbers)]
    built_same = [cells for build in same for cells in build(frame)]
    extra = complementary_cells(numbers, primary, built_margins, built_same, k)
    hidden = {c: small[c].copy() for c in counts}
    for i, column in extra:
        hidden.setdefault(column, np.zeros(len(frame), bool))[i] = True

    def any_of(columns, masks) -> np.ndarray:
        found = [masks[c] for c in columns if c in masks]
        return np.logical_or.reduce(found) if found else np.zeros(len(frame), bool)

    labels = {}
    for column in counts:
        labels[column] = np.where(small[column], f"<{k}", np.where(hidden[column], SUPPRESSED, ""))
    for column, extra_hidden in hidden.items():
        if column not in labels:
            labels[column] = np.where(extra_hidden, SUPPRESSED, "")
    for column, sizes in dependent_columns.items():
        if column in frame.columns:
            mask = any_of(sizes, small)
            labels[column] = np.where(mask, SUPPRESSED, labels.get(column, ""))
    for column, sizes in (reveals or {}).items():
        if column in frame.columns:
            mask = any_of(sizes, hidden)
            labels[column] = np.where(mask, SUPPRESSED, labels.get(column, ""))
    for column, shown in labels.items():
        if column in out.columns and (shown != "").any():
            out[column] = out[column].astype(object)
            out.loc[shown != "", column] = shown[shown != ""]
    for column in _TEXT_COLUMNS:
        if column in out.columns and out[column].dtype == object:
            out[column] = mask_counts_in_text(out[column], k)
    return out


def suppress_table(name: str, table: pd.DataFrame, k: int) -> pd.DataFrame:
    """Apply :data:`RULES` of the named output table.

    Parameters
    ----------
    name : str
        File stem of the table in ``results/tables`` (``km_medians`` …).
    table : pandas.DataFrame
        The table as written by its stage.
    k : int
        ``min_cell_count``.

    Returns
    -------
    pandas.DataFrame
        The suppressed copy, with exactly the columns of ``table``.

    Raises
    ------
    KeyError
        A table without a rule, when suppression is on: a new table must say which of its
        columns are counts before it can leave the machine.
    """
    rule = RULES.get(name)
    if rule is None:
        if k > 0:
            raise KeyError(f"no small-cell rule for table {name!r} (rwe.privacy.RULES)")
        return table.copy()
    derived = {}
    for helper, count in rule.get("derived", {}).items():
        try:
            derived[helper] = count(table)
        except KeyError:  # a column the helper needs is absent: nothing to derive
            continue
    helped = table.assign(**derived) if derived else table
    out = suppress_small_cells(
        helped,
        k,
        [*rule.get("counts", []), *derived],
        rule.get("dependent", {}),
        reveals=rule.get("reveals", {}),
        margins=rule.get("margins", ()),
        same=rule.get("same", ()),
    )
    return out[list(table.columns)]


def suppress_inputs(inputs: Sequence[Mapping], k: int) -> list[dict]:
    """The files read (provenance ``inputs``) with row counts from 1 to k − 1 written ``<k``.

    A site's ``patients.csv`` has one row per patient: its row count is a count of patients.
    """
    return [
        {**item, "rows": f"<{k}"} if 0 < int(item.get("rows") or 0) < k else dict(item)
        for item in inputs
    ]


def _as_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """A suppressed table with its hidden cells blank (for code that reads numbers from it)."""
    return table.mask(table.isin([SUPPRESSED]) | table.map(lambda v: str(v).startswith("<")))


def suppress_tables(
    tables: Mapping[str, pd.DataFrame],
    k: int,
    published_reference: str | None = None,
    gfr_cutoff: float | None = None,
) -> dict[str, pd.DataFrame]:
    """Suppress every output table; the published comparison from the suppressed tables.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        The output tables by name (``results/tables`` stems).
    k : int
        ``min_cell_count``.
    published_reference : str, optional
        The report's ``published_reference``: this run's column of ``published_comparison``
        is rebuilt from the suppressed tables, so that a rate of a small group hidden there
        (an ORR of 2 of 20) is hidden here too. Without it, only its counts are checked.
    gfr_cutoff : float, optional
        The run's ``gfr_cutoff`` (its labels name the rows of ``published_comparison``);
        needed with ``published_reference``.

    Returns
    -------
    dict of str to pandas.DataFrame
        The suppressed tables, in the order given.
    """
    out = {name: suppress_table(name, frame, k) for name, frame in tables.items()}
    comparison = out.get("published_comparison")
    if k > 1 and published_reference and comparison is not None and len(comparison):
        shown = {name: _as_numbers(frame) for name, frame in out.items()}
        # Only this_run is read, which the confidence level does not change.
        again = published_comparison(shown, published_reference, 0.95, gfr_cutoff)
        again = again.drop_duplicates("quantity")
        rebuilt = again.set_index("quantity")["this_run"].reindex(comparison["quantity"])
        lost = rebuilt.isna().to_numpy() & comparison["this_run"].notna().to_numpy()
        lost &= comparison["quantity"].isin(again["quantity"]).to_numpy()
        if lost.any():
            comparison = comparison.copy()
            comparison["this_run"] = comparison["this_run"].astype(object)
            comparison.loc[lost, "this_run"] = SUPPRESSED
            out["published_comparison"] = comparison
    return out
