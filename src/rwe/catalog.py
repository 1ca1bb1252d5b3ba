"""Names the workflow and the library share, each defined once.

The rule files (``workflow/rules/*.smk``) import these lists, so an extract file, an analysis
dataset or a figure kind is named in one place. The report's tables are listed by its section
registry (:data:`rwe.report.REPORT_TABLES`). This module imports nothing, so reading it costs
the Snakefile nothing.
"""

from __future__ import annotations

from typing import NamedTuple

#: Files of a site extract, in reading order; only ``patients`` is required.
EXTRACT_FILES = ("patients", "responses", "adverse_events", "labs")
#: The day column of each long table of an extract (checked against the patient's follow-up
#: and death).
LONG_TABLE_DAYS = {"responses": "day", "adverse_events": "onset_day", "labs": "day"}
#: Analysis datasets written by each site job and pooled (``results/adam/<name>.csv``).
ADAM = ("adsl", "adrs", "adtte", "adae", "adlb", "adrs_derived")
#: Per-patient summaries of the laboratory values, made by each site job (the only step that
#: parses labs.csv) for the safety and figures rules: lab-graded CTCAE events and nadirs.
LAB_SUMMARIES = ("lab_grades", "nadirs")
#: Site-aware tables of the survival stage (:mod:`rwe.sites`): with one site each holds a note
#: row.
SITE_TABLES = (
    "site_summary",
    "logrank_stratified",
    "cox_stratified",
    "cox_stratified_diagnostics",
    "site_meta",
    "site_contributions",
)


class FigureKind(NamedTuple):
    """Where one kind of figure is shown: its report section and its Snakemake report category."""

    section: str
    category: str


#: Figure kinds: one folder ``results/figures/<kind>/`` and one caption
#: (``workflow/report/figure_<kind>.rst``) each.
FIGURE_KINDS = {
    "km": FigureKind("survival", "Survival"),
    "forest": FigureKind("cox", "Cox regression"),
    "response": FigureKind("response", "Response"),
    "nadir": FigureKind("safety", "Safety"),
    "exposure": FigureKind("exposure", "Exposure-response"),
    "swimmer": FigureKind("swimmer", "Survival"),
    "meta": FigureKind("sites", "Sites"),
}

#: Seed of the random selection of patients in patient-level figures (stated in their captions
#: and in the methods).
SELECTION_SEED = 2026
