"""The report section of derived vs recorded response (rwe.report.response_agreement)."""

from __future__ import annotations

import pandas as pd

from rwe.imwg import AGREEMENT_COLUMNS, DOR_COLUMNS
from rwe.options import ReportOptions, with_schema_defaults
from rwe.privacy import suppress_table
from rwe.report.response_agreement import response_agreement_section


def options(**changes) -> ReportOptions:
    return ReportOptions.from_config(with_schema_defaults({"sites": {"a": "x"}, **changes}))


AGREEMENT = pd.DataFrame(
    [
        ("n", "all", "all", 40, None, None),
        ("count", "PR", "PR", 30, None, None),
        ("count", "PR", "SD", 0, None, None),
        ("count", "SD", "PR", 3, None, None),
        ("count", "SD", "SD", 7, None, None),
        ("agreement", "all", "all", 37 / 40, None, None),
        ("kappa", "all", "all", 0.77, 0.55, 0.99),
    ],
    columns=AGREEMENT_COLUMNS,
)
DOR = pd.DataFrame(
    [
        ("all", "recorded", 30, 20, 11.0, 8.0, 15.0, 2.0, 0.9, 5.0, 1, ""),
        ("all", "derived", 33, 21, 10.0, 7.0, 14.0, 1.8, 0.9, 5.0, 0, ""),
        ("Ixa-Rd", "recorded", 20, 12, 9.0, 6.0, 13.0, 1.8, 0.9, 5.0, 0, ""),
        ("Ixa-Rd", "derived", 20, 12, 9.0, 6.0, 13.0, 1.8, 0.9, 5.0, 0, ""),
    ],
    columns=DOR_COLUMNS,
)


def test_section_shows_cross_table_kappa_and_disagreements_as_counts():
    s = response_agreement_section(AGREEMENT, DOR, options())
    assert s["response_agreement"]["header"] == ["Derived \\ Recorded", "PR", "SD"]
    assert s["response_agreement"]["rows"] == [["PR", "30", "0"], ["SD", "3", "7"]]
    assert s["disagreements"]["rows"] == [["SD", "PR", "3"]]  # the zero cell is not listed
    assert "Cohen's kappa 0.77 (95% CI 0.55–0.99)" in s["summary"]


def test_configured_source_comes_first_and_is_named():
    s = response_agreement_section(AGREEMENT, DOR, options(response_source="derived"))
    rows = [row[:2] for row in s["duration_of_response"]["rows"]]
    assert rows == [
        ["all", "Derived from labs"],
        ["all", "Recorded"],
        ["Ixa-Rd", "Derived from labs"],
        ["Ixa-Rd", "Recorded"],
    ]  # the sets in the table's order
    assert s["source"] == "derived from labs"
    narrower = response_agreement_section(AGREEMENT, DOR, options(conf_level=0.9))
    assert narrower["duration_of_response"]["header"][4] == "Median DOR, months (90% CI)"


def test_small_cells_are_suppressed_before_the_section_sees_them():
    shown = suppress_table("response_agreement", AGREEMENT, 5)
    s = response_agreement_section(shown, suppress_table("duration_of_response", DOR, 5), options())
    assert s["response_agreement"]["rows"][1] == ["SD", "suppressed", "7"]
    assert s["disagreements"]["rows"] == [["SD", "PR", "suppressed"]]  # still listed, not counted
    assert s["duration_of_response"]["rows"][0][-1] == "<5"  # one undated responder
