"""The report's numbered tables as a Word document for manuscripts (python-docx).

Each table keeps its number, caption, header and display strings as in ``report.html`` (small
cells suppressed alike), numeric columns right-aligned, notes below; one heading per report
section that shows a table.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt


def numbered_tables(context: dict) -> list[tuple[str, list[dict]]]:
    """``(section title, its numbered tables)`` in page order, sections without tables left out."""
    out = []
    for section in context["sections"]:
        shown = [v for v in section["context"].values() if isinstance(v, dict) and "number" in v]
        if shown:
            out.append((section["title"], shown))
    return out


def add_table(document, t: dict) -> None:
    """One numbered table: ``Table n.`` and its caption, the grid, then its note."""
    caption = document.add_paragraph()
    caption.add_run(f"Table {t['number']}. ").bold = True
    caption.add_run(t["caption"])
    grid = document.add_table(rows=len(t["rows"]) + 1, cols=len(t["header"]))
    grid.style = "Table Grid"
    for row, values in zip(grid.rows, [t["header"], *t["rows"]], strict=True):
        for cell, value, numeric in zip(row.cells, values, t["numeric"], strict=True):
            cell.text = str(value)
            if numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for cell in grid.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True
    if t.get("note"):
        document.add_paragraph(t["note"])


def write_tables_docx(context: dict, path: str | Path) -> None:
    """Write the numbered tables of a report context (:func:`rwe.report.build_context`).

    Parameters
    ----------
    context : dict
        The report's context, tables numbered.
    path : str or pathlib.Path
        The ``.docx`` file to write (``results/tables.docx``).
    """
    document = Document()
    page = document.sections[0]
    page.orientation = WD_ORIENT.LANDSCAPE
    page.page_width, page.page_height = page.page_height, page.page_width
    document.styles["Normal"].font.size = Pt(8)
    document.add_heading(f"{context['title']}: tables", level=0)
    for title, tables in numbered_tables(context):
        document.add_heading(title, level=1)
        for t in tables:
            add_table(document, t)
    # Deterministic bytes: the same tables give the same file (no time of writing inside).
    fixed = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    document.core_properties.created = document.core_properties.modified = fixed
    document.core_properties.last_printed = fixed
    buffer = io.BytesIO()
    document.save(buffer)
    Path(path).write_bytes(_without_zip_times(buffer.getvalue()))


def _without_zip_times(data: bytes) -> bytes:
    """The same zip (a .docx) with every member dated 1980-01-01, in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
