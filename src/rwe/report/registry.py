"""The report's sections, in order: one line each (id, title, builder, the tables it brings).

To add a section: write its builder (a function whose parameters are named after the tables it
reads, and ``figures``, ``options`` or ``provenance`` if it needs them; it returns a dict), its
partial ``templates/sections/<id>.html.j2`` (which reads that dict as ``s``), and one line
below. A table a section brings (``tables``: name -> the columns the report reads) becomes an
input of the report rule, the shareable tables and the data-cut comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rwe.report.changes import CHANGES_TABLES, changes_section
from rwe.report.comparative import COMPARATIVE_TABLES, comparative_section
from rwe.report.conventions import CONVENTIONS_TABLES, conventions_section
from rwe.report.response_agreement import (
    RESPONSE_AGREEMENT_TABLES,
    response_agreement_section,
)
from rwe.report.sections import (
    ATTRITION_TABLES,
    BASELINE_TABLES,
    COX_TABLES,
    DATA_QUALITY_TABLES,
    EXPOSURE_TABLES,
    PUBLISHED_TABLES,
    RESPONSE_TABLES,
    SAFETY_TABLES,
    SURVIVAL_TABLES,
    attrition_section,
    baseline_section,
    cox_section,
    data_quality_section,
    exposure_section,
    methods_section,
    provenance_section,
    published_section,
    response_section,
    safety_section,
    summary_section,
    survival_section,
)
from rwe.report.sites import SITES_TABLES, sites_section


@dataclass(frozen=True)
class Section:
    """One section of the report.

    Attributes
    ----------
    id : str
        The anchor (``<section id="...">``) and the partial ``templates/sections/<id>.html.j2``.
    title : str
        The heading and the entry in the contents.
    builder : callable
        Returns the partial's context from what its parameters name (see the module docstring).
    tables : mapping of str to list of str
        The tables this section brings to the report, with the columns the report reads.
    """

    id: str
    title: str
    builder: Callable[..., dict]
    tables: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def partial(self) -> str:
        """The section's template, under ``rwe/templates``."""
        return f"sections/{self.id}.html.j2"


SECTIONS = (
    Section("summary", "Summary of key results", summary_section),
    Section("methods", "Methods", methods_section),
    Section("attrition", "Patients analysed", attrition_section, ATTRITION_TABLES),
    Section(
        "data-quality", "Data quality and missingness", data_quality_section, DATA_QUALITY_TABLES
    ),
    Section("baseline", "Baseline characteristics", baseline_section, BASELINE_TABLES),
    Section("response", "Response", response_section, RESPONSE_TABLES),
    Section(
        "response-agreement",
        "Response derived from laboratory values vs recorded",
        response_agreement_section,
        RESPONSE_AGREEMENT_TABLES,
    ),
    Section("survival", "Survival", survival_section, SURVIVAL_TABLES),
    Section("cox", "Cox regression", cox_section, COX_TABLES),
    Section(
        "conventions",
        "R and SAS conventions",
        conventions_section,
        CONVENTIONS_TABLES,
    ),
    Section("comparative", "Comparative effectiveness", comparative_section, COMPARATIVE_TABLES),
    Section("sites", "Sites", sites_section, SITES_TABLES),
    Section("safety", "Safety", safety_section, SAFETY_TABLES),
    Section("exposure", "Exposure–response", exposure_section, EXPOSURE_TABLES),
    Section("published", "Published vs this run", published_section, PUBLISHED_TABLES),
    Section("changes", "Changes since the last data cut", changes_section, CHANGES_TABLES),
    Section("provenance", "Provenance", provenance_section),
)
#: Every table the report reads, with its columns (DESIGN.md §6 contract columns, then the
#: extras the stages append), in section order.
TABLE_COLUMNS: dict[str, list[str]] = {
    name: columns for section in SECTIONS for name, columns in section.tables.items()
}
#: The tables the report rule reads (``results/tables/<name>.csv``); the rule files import it.
REPORT_TABLES = list(TABLE_COLUMNS)
