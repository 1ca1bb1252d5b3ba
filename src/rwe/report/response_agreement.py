"""Report section: best response derived from the laboratory values vs the recorded one.

The cross-table of derived and recorded best response with Cohen's kappa, the categories on
which they disagree (counts only), and the duration of and time to response of each source
(:mod:`rwe.imwg`). Placed right after the Response section.
"""

from __future__ import annotations

import pandas as pd

from rwe.imwg import AGREEMENT_COLUMNS, DOR_COLUMNS, criteria
from rwe.options import ReportOptions
from rwe.report.format import count, estimate_ci, num, pct, table, text

RESPONSE_AGREEMENT_TABLES = {
    "response_agreement": AGREEMENT_COLUMNS,
    "duration_of_response": DOR_COLUMNS,
}
SOURCE_NAMES = {"recorded": "Recorded", "derived": "Derived from labs"}


def _positive(value) -> bool:
    """A count above zero; a suppressed count (``<k``) is one."""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return isinstance(value, str) or (pd.notna(number) and number > 0)


def response_agreement_section(
    response_agreement: pd.DataFrame, duration_of_response: pd.DataFrame, options: ReportOptions
) -> dict:
    """Derived vs recorded best response: cross-table, kappa, disagreements; DOR and TTR."""
    stats = response_agreement.set_index("statistic")
    cells = response_agreement[response_agreement["statistic"] == "count"]
    levels = list(dict.fromkeys(cells["derived"]))
    crosstab = {
        "header": ["Derived \\ Recorded", *levels],
        "rows": [
            [d, *(count(v) for v in cells.loc[cells["derived"] == d, "value"])] for d in levels
        ],
        "caption": "Best overall response derived from the laboratory values (rows) and recorded "
        "(columns), patients with both.",
        "note": "",
    }
    off = cells[(cells["derived"] != cells["recorded"]) & cells["value"].map(_positive)]
    disagreements = table(
        off,
        [
            ("Derived", lambda r: text(r["derived"])),
            ("Recorded", lambda r: text(r["recorded"])),
            ("Patients", lambda r: count(r["value"])),
        ],
        caption="Categories on which the derived and recorded best response disagree (counts).",
    )
    summary = ""
    if "kappa" in stats.index:
        kappa = stats.loc["kappa"]
        summary = (
            f"{count(stats.loc['n', 'value'])} patients compared; observed agreement "
            f"{pct(stats.loc['agreement', 'value'])} %; Cohen's kappa {num(kappa['value'], 2)} "
            f"({100 * options.conf_level:g}% CI {num(kappa['ci_lower'], 2)}–"
            f"{num(kappa['ci_upper'], 2)})."
        )
    # The sets in the table's order; within each, the configured source first.
    first = [options.response_source, *SOURCE_NAMES]
    order = {
        "analysis_set": {
            s: i for i, s in enumerate(dict.fromkeys(duration_of_response["analysis_set"]))
        },
        "source": {s: i for i, s in enumerate(dict.fromkeys(first))},
    }
    dor = duration_of_response.sort_values(
        ["analysis_set", "source"], key=lambda s: s.map(order[s.name]), kind="stable"
    )
    duration = table(
        dor,
        [
            ("Set", lambda r: text(r["analysis_set"])),
            ("Response", lambda r: SOURCE_NAMES.get(r["source"], text(r["source"]))),
            ("Responders", lambda r: count(r["n"])),
            ("Events", lambda r: count(r["events"])),
            (
                f"Median DOR, months ({100 * options.conf_level:g}% CI)",
                lambda r: estimate_ci(r["median"], r["ci_lower"], r["ci_upper"]),
            ),
            (
                "Median time to response, months (range)",
                lambda r: f"{num(r['ttr_median'])} ({num(r['ttr_min'])}–{num(r['ttr_max'])})",
            ),
            ("Undated responders", lambda r: count(r["n_undated"])),
        ],
        caption="Duration of response among responders (PR or better): first response to "
        "progression or death, Kaplan–Meier median (NR: not reached). Time to response from "
        "day 0 to the first response.",
    )
    return {
        "criteria": options.imwg_criteria,
        "reference": criteria(options.imwg_criteria).reference,
        "confirmations": options.imwg_confirmations,
        "source": SOURCE_NAMES[options.response_source].lower(),
        "summary": summary,
        "response_agreement": crosstab if levels else {},
        "disagreements": disagreements,
        "duration_of_response": duration,
    }
