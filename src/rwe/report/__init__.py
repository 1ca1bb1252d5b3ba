"""The reviewer's report: one self-contained HTML file (Jinja2, autoescaped, figures embedded).

Nothing in the report comes from a patient-level row: it is built from the aggregate tables,
the figures and ``provenance.json``. Every string from the input (regimen names, AE terms, site
names) passes through Jinja2's autoescape; the page has a Content-Security-Policy that allows
no script and no request to any address (images are ``data:`` URIs).

The page is a list of sections (:data:`SECTIONS`, in :mod:`rwe.report.registry`): each has a
builder that turns the tables it reads into its context, and a partial
``templates/sections/<id>.html.j2`` that shows it. ``docs/architecture.md`` says how to add one.
"""

from rwe.report.build import CSP, build_context, complete_tables, render_report, write_report
from rwe.report.registry import REPORT_TABLES, SECTIONS, TABLE_COLUMNS, Section

__all__ = [
    "CSP",
    "REPORT_TABLES",
    "SECTIONS",
    "TABLE_COLUMNS",
    "Section",
    "build_context",
    "complete_tables",
    "render_report",
    "write_report",
]
