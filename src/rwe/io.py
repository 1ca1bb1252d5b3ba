"""Reading site extracts and analysis datasets.

Site extracts come from hospital spreadsheets: UTF-8 (with or without BOM) or cp1252, comma or
semicolon separated, decimal point or decimal comma. :func:`read_extract_file` detects which,
reads every cell as text (validation converts and checks types so that every problem can be
reported with its row), and says what it detected.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from rwe.exceptions import InputError, Problem

#: Files of a site extract, in reading order; only ``patients`` is required.
EXTRACT_FILES = ("patients", "responses", "adverse_events", "labs")
#: Cells read as missing. The contract says blank; R exports write NA.
MISSING_TOKENS = ("", "NA", "N/A", "na", "n/a")
#: Flag columns of ADSL, restored as nullable integers by :func:`read_adam`.
ADSL_FLAGS = (
    "triple_class_refractory", "high_risk_cyto", "gfr_le70", "age_ge80", "second_line",
    "more_than_3_lines", "imid_containing", "responder",
)  # fmt: skip
ADAM_INT_COLUMNS = (
    "age", "al_amyloidosis", "prior_lines", "refractory_imid", "refractory_pi",
    "refractory_cd38", "prior_asct", "prior_allo", "del17p", "t4_14", "gain1q21", "emd",
    "pn_baseline_grade", "progression_day", "last_assessment_day", "death_day",
    "last_followup_day", "cnsr", "aval_days", "grade", "onset_day", "day", "_row", "first_response_day", *ADSL_FLAGS,
)  # fmt: skip


@dataclass(frozen=True)
class FileFormat:
    """What :func:`read_extract_file` detected about one file."""

    encoding: str
    separator: str
    decimal: str

    def describe(self) -> str:
        """Return a one-line, human-readable description."""
        sep = {",": "comma", ";": "semicolon", "\t": "tab"}[self.separator]
        dec = "decimal comma" if self.decimal == "," else "decimal point"
        return f"{self.encoding}, {sep}-separated, {dec}"


def detect_encoding(raw: bytes) -> str:
    """Return ``utf-8-sig`` (UTF-8 with or without BOM) or ``cp1252``.

    cp1252 is tried only when the bytes are not valid UTF-8: every UTF-8 file is also decodable
    as cp1252, never the other way round for text with accents.
    """
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def detect_format(text: str) -> FileFormat:
    """Detect separator and decimal mark from the header and the first lines of ``text``."""
    sample = text[:20000]
    header = sample.splitlines()[0] if sample else ""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    separator = max(counts, key=counts.get) if any(counts.values()) else ","
    decimal = "."
    if separator != ",":
        # A decimal comma is only possible when the comma is not the separator; it shows as a
        # digit, a comma and a digit inside one cell.
        body = sample.splitlines()[1:50]
        cells = [c for line in body for c in line.split(separator)]
        if any(_looks_like_decimal_comma(c) for c in cells):
            decimal = ","
    return FileFormat(encoding="", separator=separator, decimal=decimal)


def _looks_like_decimal_comma(cell: str) -> bool:
    cell = cell.strip().strip('"')
    head, _, tail = cell.partition(",")
    return bool(tail) and head.lstrip("-").isdigit() and tail.isdigit()


def read_extract_file(path: str | Path) -> tuple[pd.DataFrame, FileFormat]:
    """Read one CSV of a site extract with every cell as text.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.

    Returns
    -------
    table : pandas.DataFrame
        Cells as ``str`` (missing as ``NA``), surrounding whitespace removed, decimal commas
        turned into points. Column names are stripped and lower-cased.
    file_format : FileFormat
        The encoding, separator and decimal mark detected.
    """
    raw = Path(path).read_bytes()
    encoding = detect_encoding(raw)
    text = raw.decode(encoding)
    if encoding == "cp1252":
        label = "cp1252"
    else:
        label = "UTF-8 with BOM" if raw.startswith(b"\xef\xbb\xbf") else "UTF-8"
    fmt = replace(detect_format(text), encoding=label)
    table = pd.read_csv(
        io.StringIO(text),
        sep=fmt.separator,
        dtype=str,
        keep_default_na=False,
        na_values=list(MISSING_TOKENS),
        quoting=csv.QUOTE_MINIMAL,
        skipinitialspace=True,
    )
    table.columns = [str(c).strip().lower() for c in table.columns]
    table = table.apply(lambda s: s.str.strip())
    table = table.mask(table.isin(MISSING_TOKENS))
    if fmt.decimal == ",":
        table = table.apply(
            lambda s: s.where(~s.fillna("").map(_looks_like_decimal_comma), s.str.replace(",", "."))
        )
    return table, fmt


def read_site(folder: str | Path, site: str) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Read every file of one site extract.

    Parameters
    ----------
    folder : str or pathlib.Path
        The site's folder; ``patients.csv`` is required, the long tables are optional.
    site : str
        The site's name in the config (used in messages and added as column ``site``).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Raw (text) tables by file stem, each with ``site`` and ``_row`` (1-based data row; the
        header is row 0, so a spreadsheet shows data row r on line r + 1).
    inputs : list of dict
        For provenance: site, file, sha256, rows and the detected format of each file read.

    Raises
    ------
    InputError
        When the folder or ``patients.csv`` does not exist.
    """
    folder = Path(folder)
    if not (folder / "patients.csv").is_file():
        raise InputError([Problem(f"{site}/patients.csv", None, None,
                                  f"required file not found in the site folder of '{site}'")])  # fmt: skip
    tables, inputs = {}, []
    for stem in EXTRACT_FILES:
        path = folder / f"{stem}.csv"
        if not path.is_file():
            continue
        table, fmt = read_extract_file(path)
        table.insert(0, "site", site)
        table["_row"] = range(1, len(table) + 1)
        tables[stem] = table
        inputs.append({
            "site": site, "file": f"{stem}.csv", "sha256": sha256(path), "rows": len(table),
            "format": fmt.describe(),
        })  # fmt: skip
    return tables, inputs


def sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_adam(path: str | Path) -> pd.DataFrame:
    """Read an analysis dataset written by the derive stage, restoring its dtypes.

    Integer and 0/1 flag columns come back as pandas nullable ``Int64`` (missing stays missing),
    identifiers and codes as text.
    """
    table = pd.read_csv(path, dtype={"patient_id": str, "site": str})
    for col in ADAM_INT_COLUMNS:
        if col in table.columns:
            table[col] = pd.to_numeric(table[col], errors="raise").astype("Int64")
    return table


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write a result table as CSV (unrounded numbers, empty cells for missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
