"""Build the report's context section by section and render it with Jinja2."""

from __future__ import annotations

import inspect
from pathlib import Path

import jinja2
import pandas as pd

from rwe.options import ReportOptions
from rwe.privacy import suppress_inputs, suppress_tables
from rwe.report.figures import embed_figures, patient_level_figures
from rwe.report.format import missing, numeric_columns
from rwe.report.manuscript import write_tables_docx
from rwe.report.registry import SECTIONS, TABLE_COLUMNS, Section

#: Content-Security-Policy of the page: no script, no request to any address (images are data:).
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def complete_tables(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every table of :data:`TABLE_COLUMNS`, with every column the report reads.

    A table that was not given becomes an empty frame (its section says "not available"); a
    column a stage did not write (an optional extra such as ``note``) becomes empty.

    Returns
    -------
    tuple
        The completed tables, and the names of the tables that were not given.
    """
    absent = [name for name in TABLE_COLUMNS if name not in tables]
    complete = {}
    for name, columns in TABLE_COLUMNS.items():
        frame = tables.get(name, pd.DataFrame(columns=columns))
        extra = [c for c in columns if c not in frame.columns]
        complete[name] = frame.reindex(columns=[*frame.columns, *extra])
    return complete, absent


def section_context(section: Section, available: dict, absent: list[str]) -> dict:
    """Call a section's builder with what its parameters name; name the tables not produced."""
    wanted = inspect.signature(section.builder).parameters
    context = section.builder(**{name: available[name] for name in wanted})
    for name in wanted:
        if name in absent:
            context[name] = missing(
                f"Not available: tables/{name}.csv was not produced by this run."
            )
    return context


def is_figure_list(value) -> bool:
    """True for a list of embedded figures (a builder's ``figures`` entry)."""
    return isinstance(value, list) and all(isinstance(f, dict) and "src" in f for f in value)


def number_tables_and_figures(sections: list[dict]) -> None:
    """Number the shown tables and figures in page order; mark each table's numeric columns.

    The page order is each section's context in its builder's order (partials show their
    tables and figures in that order: the browser test checks it). A table with rows gets
    ``number`` and ``numeric`` (one flag per column, right-aligned when set, unless its builder
    set them); each figure gets ``number``.
    """
    tables = figures = 0
    for section in sections:
        for value in section["context"].values():
            if isinstance(value, dict) and value.get("rows"):
                tables += 1
                value["number"] = tables
                value.setdefault("numeric", numeric_columns(value["rows"]))
            elif value and is_figure_list(value):
                for figure in value:
                    figures += 1
                    figure["number"] = figures


def build_context(
    tables: dict[str, pd.DataFrame],
    figures: pd.DataFrame,
    figure_dir: Path,
    provenance: dict,
    options: ReportOptions,
) -> dict:
    """Everything the template shows, as display strings (suppressed where configured).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The aggregate tables by file stem (``results/tables/<name>.csv``); any may be absent.
    figures : pandas.DataFrame
        The figure index written by :func:`rwe.plots.make_figures`.
    figure_dir : pathlib.Path
        Folder of the figure files.
    provenance : dict
        ``results/provenance.json``.
    options : rwe.options.ReportOptions
        The options of the run.

    Returns
    -------
    dict
        The page's header values and ``sections``: each :class:`Section` with its ``context``.
        Every table passes through :func:`rwe.privacy.suppress_tables` with ``min_cell_count``
        before any builder sees it.
    """
    k = options.min_cell_count
    tables, absent = complete_tables(tables)
    available = suppress_tables(tables, k, options.published_reference, options.gfr_cutoff)
    available |= {
        "figures": embed_figures(figures, Path(figure_dir), options),
        "options": options,
        "provenance": {**provenance, "inputs": suppress_inputs(provenance.get("inputs", []), k)},
    }
    sections = [
        {
            "id": s.id,
            "title": s.title,
            "partial": s.partial,
            "context": section_context(s, available, absent),
        }
        for s in SECTIONS
    ]
    number_tables_and_figures(sections)
    return {
        "title": options.title,
        "csp": CSP,
        "k": k,
        "patient_level": patient_level_figures(figures),
        "max_patients": options.max_patients,
        "sites": list(options.sites),
        "data_cut": options.data_cut,
        "run_time": provenance.get("run_time", ""),
        "git_commit": provenance.get("git_commit", ""),
        "sections": sections,
    }


def render_report(context: dict) -> str:
    """Render the HTML report from :func:`build_context` output."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rwe", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(
    tables: dict[str, pd.DataFrame],
    figures: pd.DataFrame,
    figure_dir,
    provenance: dict,
    options: ReportOptions,
    path,
    docx_path=None,
) -> None:
    """Build and write ``report.html`` (and its tables as ``docx_path``, when given)."""
    context = build_context(tables, figures, Path(figure_dir), provenance, options)
    Path(path).write_text(render_report(context), encoding="utf-8")
    if docx_path is not None:
        write_tables_docx(context, docx_path)
