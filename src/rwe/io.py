"""Reading site extracts and analysis datasets.

Site extracts come from hospital spreadsheets: UTF-8 (with or without BOM) or cp1252, comma or
semicolon separated, decimal point or decimal comma. :func:`read_extract_file` detects which,
reads every cell as text (validation converts and checks types so that every problem can be
reported with its row), and says what it detected.
"""

from __future__ import annotations

import codecs
import csv
import ctypes
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from rwe.catalog import EXTRACT_FILES
from rwe.exceptions import InputError, Problem

#: Cells the reader reads as missing: blank only. Words such as ``NA`` or ``NULL`` are missing
#: in identifier and numeric columns only (:data:`rwe.validate.MISSING_WORDS`): a site code or a
#: regimen may be named ``NA``.
MISSING_TOKENS = ("",)
#: Missing cells of the tables rwe writes (:func:`write_table` writes missing as blank): a text
#: such as ``NA`` (a site's name) is read back as itself.
WRITTEN_NA = [""]
#: Bytes that start a file in UTF-16 (a spreadsheet's "Unicode text" export).
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: Bytes cp1252 does not define: a file holding them is neither UTF-8 nor cp1252 text.
CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
#: Flag columns of ADSL, restored as nullable integers by :func:`read_adam`.
ADSL_FLAGS = (
    "triple_class_refractory",
    "high_risk_cyto",
    "gfr_le70",
    "age_ge80",
    "second_line",
    "more_than_3_lines",
    "imid_containing",
    "responder",
)
ADAM_INT_COLUMNS = (
    "age",
    "al_amyloidosis",
    "prior_lines",
    "refractory_imid",
    "refractory_pi",
    "refractory_cd38",
    "prior_asct",
    "prior_allo",
    "del17p",
    "t4_14",
    "gain1q21",
    "emd",
    "pn_baseline_grade",
    "progression_day",
    "last_assessment_day",
    "death_day",
    "last_followup_day",
    "cnsr",
    "aval_days",
    "grade",
    "onset_day",
    "day",
    "_row",
    "first_response_day",
    "response_confirmed_day",
    "entry_day",
    "entry_days",
    *ADSL_FLAGS,
)

#: Float columns of the analysis datasets (read as such with ``text_as_category``).
ADAM_FLOAT_COLUMNS = (
    "value",
    "aval",
    "entry",
    "gfr",
    "years_since_diagnosis",
    "start_dose_mg",
    "exposure_auc",
    "nadir",
)


SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class FileFormat:
    """What :func:`read_extract_file` detected about one file."""

    encoding: str
    separator: str
    decimal: str

    def describe(self) -> str:
        """Return a one-line, human-readable description."""
        sep = SEPARATOR_NAMES[self.separator]
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
    header = next((line for line in sample.splitlines() if line.strip()), "")
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


def _file_encoding(path: Path, label: str) -> tuple[str, str]:
    """Return the codec of a site file and how to describe it, or refuse a file that is not text.

    UTF-16 is recognised by its byte-order mark (a spreadsheet's "Unicode text" export); else
    :func:`detect_encoding` of the whole file, read in blocks so that a multi-gigabyte file is
    never held in memory (a block of pure ASCII is valid UTF-8 on its own; other blocks go
    through an incremental UTF-8 decoder).

    Raises
    ------
    InputError
        When the file holds NUL bytes (a binary file, a workbook, UTF-16 without its byte-order
        mark) or bytes that are neither UTF-8 nor cp1252.
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(UTF16_BOMS):
        return "utf-16", "UTF-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            if b"\x00" in block:
                raise _not_text(
                    label,
                    "it holds NUL bytes (a binary file, a workbook, or UTF-16 "
                    "without a byte-order mark)",
                )
            if not utf8 or (block.isascii() and not decoder.getstate()[0]):
                continue
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return "utf-8-sig", "UTF-8 with BOM" if head.startswith(codecs.BOM_UTF8) else "UTF-8"
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            if CP1252_UNDEFINED.search(block):
                raise _not_text(label, "its bytes are neither UTF-8 nor cp1252 text")
    return "cp1252", "cp1252"


def _not_text(label: str, why: str) -> InputError:
    return InputError(
        [
            Problem(
                label,
                None,
                None,
                f"is not a CSV text file: {why}; save it from the spreadsheet as CSV (UTF-8)",
            )
        ]
    )


def _clean_text(column: pd.Series, decimal_comma: bool) -> pd.Series:
    """Strip a text column, blank the missing tokens and turn decimal commas into points.

    The column is categorical, so this works on its distinct values only (a laboratory file has
    tens of millions of cells but few distinct values per column).
    """
    categories = pd.Series(column.cat.categories, dtype=object)
    cleaned = categories.str.strip()
    cleaned = cleaned.mask(cleaned.isin(MISSING_TOKENS))
    if decimal_comma:
        comma = cleaned.fillna("").map(_looks_like_decimal_comma).astype(bool)
        cleaned = cleaned.where(~comma, cleaned.str.replace(",", "."))
    if cleaned.equals(categories):
        return column
    codes, uniques = pd.factorize(cleaned)
    old = column.cat.codes.to_numpy()
    new = np.where(old >= 0, codes[np.maximum(old, 0)], -1)
    return pd.Series(pd.Categorical.from_codes(new, uniques), index=column.index, name=column.name)


def read_extract_file(
    path: str | Path, label: str | None = None
) -> tuple[pd.DataFrame, FileFormat]:
    """Read one CSV of a site extract with every cell as text.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    label : str, optional
        The file's name in messages (default: its file name).

    Returns
    -------
    table : pandas.DataFrame
        Cells as text (blank cells missing), surrounding whitespace removed, decimal commas
        turned into points. Column names are stripped and lower-cased. Every column is
        categorical (text categories): a laboratory file of tens of millions of rows has few
        distinct values per column, and validation checks each distinct value once.
    file_format : FileFormat
        The encoding, separator and decimal mark detected.

    Raises
    ------
    InputError
        When the file is not CSV text (binary, undecodable), is empty, names a column twice
        (names that differ only by case are the same column), has lines with more fields than
        the header, or lines of nothing but separators; every such problem is listed.
    """
    path = Path(path)
    label = label or path.name
    fmt, options = _csv_options(path, label)
    with _parse_errors(path, fmt, options, label):
        table = pd.read_csv(path, **options)
    return_freed_memory()
    _check_no_implicit_index(table, path, options, label)
    if problems := _overlong_cells(table, label, first_row=1):
        raise InputError(problems)
    table = _tidy(table, fmt, first_row=1)
    if problems := _separator_only_rows(table, label, first_row=1):
        raise InputError(problems)
    return table, fmt


def read_extract_chunks(path: str | Path, label: str, rows: int) -> tuple[Iterator, FileFormat]:
    """Read one CSV of a site extract ``rows`` data rows at a time, as :func:`read_extract_file`.

    Returns
    -------
    chunks : iterator of (pandas.DataFrame, int)
        Each chunk as :func:`read_extract_file` returns a whole table (its own categories), with
        the file's data row of its first row. A file with a header only gives one empty chunk.
    file_format : FileFormat

    Raises
    ------
    InputError
        As :func:`read_extract_file`, while iterating; lines of nothing but separators are
        listed once the whole file is read.
    """
    path = Path(path)
    fmt, options = _csv_options(path, label)

    def chunks():
        first, problems = 1, []
        with _parse_errors(path, fmt, options, label):
            reader = pd.read_csv(path, chunksize=rows, **options)
            with reader:
                for table in reader:
                    _check_no_implicit_index(table, path, options, label)
                    if overlong := _overlong_cells(table, label, first):
                        raise InputError(overlong)
                    table = _tidy(table, fmt, first)
                    problems += _separator_only_rows(table, label, first)
                    yield table, first
                    first += len(table)
        if first == 1:  # a header only: pandas gives no chunk
            yield _tidy(pd.read_csv(path, nrows=0, **options), fmt, first), first
        if problems:
            raise InputError(problems)

    return chunks(), fmt


def _csv_options(path: Path, label: str) -> tuple[FileFormat, dict]:
    """The detected format of an extract file and the ``pandas.read_csv`` options to read it.

    Raises
    ------
    InputError
        When the file is not CSV text, is empty, or names a column twice.
    """
    encoding, description = _file_encoding(path, label)
    with open(path, "rb") as fh:
        head = fh.read(1 << 17)
    # The first 20,000 characters are enough to detect the separator and the decimal mark; a
    # multi-byte character cut at the end of the block is dropped.
    text = head.decode(encoding, errors="ignore")
    if not text.replace("\ufeff", "").strip():
        raise _empty(label)
    fmt = replace(detect_format(text), encoding=description)
    if problems := header_problems(text, fmt.separator, label):
        raise InputError(problems)
    return fmt, dict(
        sep=fmt.separator,
        encoding=encoding,
        dtype="category",
        keep_default_na=False,
        na_values=list(MISSING_TOKENS),
        quoting=csv.QUOTE_MINIMAL,
        skipinitialspace=True,
    )


def _empty(label: str) -> InputError:
    return InputError(
        [
            Problem(
                label,
                None,
                None,
                "the file is empty (or holds only blank "
                "lines): expected a header line, then one line per record",
            )
        ]
    )


@contextmanager
def _parse_errors(path: Path, fmt: FileFormat, options: dict, label: str):
    """Turn the parser's errors into the problems of the file (every long row listed)."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise _empty(label) from None
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError) as err:
        problems = _field_count_problems(path, options["encoding"], fmt.separator, label, err)
        raise InputError(problems) from None


def _tidy(table: pd.DataFrame, fmt: FileFormat, first_row: int) -> pd.DataFrame:
    """Column names stripped and lower-cased, every text column cleaned (:func:`_clean_text`)."""
    table.columns = [str(c).strip().lower() for c in table.columns]
    for i in range(table.shape[1]):
        table.isetitem(i, _clean_text(table.iloc[:, i], fmt.decimal == ","))
    if first_row > 1:
        table.index = pd.RangeIndex(len(table))
    return table


def header_problems(text: str, separator: str, label: str) -> list[Problem]:
    """Columns without a name, and columns named more than once, in the header line of ``text``.

    Names are compared as the reader keeps them (stripped, lower-cased), so ``Age`` and ``age``
    are the same column: pandas would rename or drop one of them silently.
    """
    line = next((line for line in text.splitlines() if line.strip()), "")
    names = [n.strip().lower() for n in next(csv.reader([line], delimiter=separator), [])]
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        if name:
            positions.setdefault(name, []).append(i)
    unnamed = [i for i, name in enumerate(names, start=1) if not name]
    problems = (
        [
            Problem(
                label,
                None,
                None,
                f"the header's column{'s' * (len(unnamed) > 1)} {', '.join(map(str, unnamed))} "
                f"{'has' if len(unnamed) == 1 else 'have'} no name"
                + (
                    f" (a {SEPARATOR_NAMES.get(separator, 'separator')} at the end of the header "
                    "line?): name every column, or remove the separator"
                    if unnamed == [len(names)]
                    else ": name every column"
                ),
            )
        ]
        if unnamed
        else []
    )
    return problems + [
        Problem(
            label,
            None,
            name,
            f"is in the header {len(at)} times (columns "
            f"{', '.join(map(str, at))}); names that differ only by case or spaces are the "
            "same column: keep one",
        )
        for name, at in positions.items()
        if len(at) > 1
    ]


#: Rows named as examples in a message about a fault that many rows share.
EXAMPLE_ROWS = 5


def _rows_text(rows: list[int], one: str, many: str) -> str:
    """``row 4 <one>``, ``rows 4, 9 <many>`` or ``rows 1, …, 5 and 9 more (14 lines) <many>``."""
    shown = ", ".join(map(str, rows[:EXAMPLE_ROWS]))
    more = len(rows) - EXAMPLE_ROWS
    if more > 0:
        return f"rows {shown} and {more:,} more ({len(rows):,} lines) {many}"
    return f"row {shown} {one}" if len(rows) == 1 else f"rows {shown} {many}"


def _field_count_problems(
    path: Path, encoding: str, separator: str, label: str, err: Exception | None = None
) -> list[Problem]:
    """The data rows with more fields than the header (what stops pandas' parser).

    One problem per fault, however many rows share it: lines that end in a separator (an
    empty field past the header's columns) and lines with values past the header's columns,
    each with its first rows as examples and a count. Rows are counted as the reader counts
    them: blank lines are skipped.
    """
    trailing, extra = [], []
    width = 0
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        rows = (r for r in csv.reader(fh, delimiter=separator) if any(f.strip() for f in r))
        try:
            width = len(next(rows, []))
            for i, fields in enumerate(rows, start=1):
                if len(fields) > width:
                    beyond = fields[width:]
                    (trailing if not any(f.strip() for f in beyond) else extra).append(i)
        except csv.Error:
            pass
    name = SEPARATOR_NAMES[separator]
    problems = []
    if trailing:
        problems.append(
            Problem(
                label,
                None,
                None,
                f"{_rows_text(trailing, 'ends', 'end')} in a {name} after the {width} fields of "
                f"the header: remove the {name} at the end of the line",
            )
        )
    if extra:
        problems.append(
            Problem(
                label,
                None,
                None,
                f"{_rows_text(extra, 'has', 'have')} more fields than the {width} of the header: "
                f"quote values that contain the separator ({name})",
            )
        )
    if not problems:
        unclosed = err is not None and "EOF inside string" in str(err)
        why = 'a quote (") is opened and never closed' if unclosed else "its lines do not parse"
        problems.append(Problem(label, None, None, f"could not be read as CSV: {why}"))
    return problems


def _check_no_implicit_index(table: pd.DataFrame, path: Path, options: dict, label: str) -> None:
    """Refuse a table pandas read with its first column as the index.

    pandas does that, silently, when every line has one field more than the header (a
    separator at the end of each line): every column would be shifted by one.
    """
    if not isinstance(table.index, pd.RangeIndex):
        raise InputError(_field_count_problems(path, options["encoding"], options["sep"], label))


#: The longest cell a site file may hold (characters): longer is no value of the contract (the
#: longest adverse-event term of CTCAE v5 has under 100), and it is refused before any check
#: reads it, so that one pasted document cannot hold up the run.
MOST_CELL_CHARS = 1_000


def _overlong_cells(table: pd.DataFrame, label: str, first_row: int = 1) -> list[Problem]:
    """Cells longer than :data:`MOST_CELL_CHARS`, each by row and column (never shown)."""
    problems = []
    for name in table.columns:
        column = table[name]
        categories = column.cat.categories
        if not len(categories) or categories.str.len().max() <= MOST_CELL_CHARS:
            continue
        long = np.flatnonzero(categories.str.len() > MOST_CELL_CHARS)
        rows = np.flatnonzero(np.isin(column.cat.codes.to_numpy(), long))
        problems += [
            Problem(
                label,
                int(i) + first_row,
                str(name).strip().lower(),
                f"holds a value of {len(column.iloc[i]):,} characters; a cell holds at most "
                f"{MOST_CELL_CHARS:,} (not read further, not shown)",
            )
            for i in rows
        ]
    return problems


def _separator_only_rows(table: pd.DataFrame, label: str, first_row: int = 1) -> list[Problem]:
    """Data rows whose every cell is blank: a line of nothing but separators.

    ``first_row`` is the file's data row of the table's first row (a chunk of a file).
    """
    if table.shape[1] < 2:
        return []  # one column: a blank line was skipped by the parser, a blank cell is a value
    blank = np.logical_and.reduce([table[c].cat.codes.to_numpy() < 0 for c in table.columns])
    return [
        Problem(label, int(i) + first_row, None, "holds nothing but separators: remove the line")
        for i in np.flatnonzero(blank)
    ]


def return_freed_memory() -> None:
    """Give the memory freed by the CSV parser back to the operating system (glibc only).

    Parsing builds and frees a Python string per cell; glibc keeps the freed heap, so a rule
    that has parsed a 90-million-row table would otherwise carry about a gigabyte it no longer
    uses into every later step. Elsewhere (not Linux/glibc) this does nothing.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def read_site(
    folder: str | Path, site: str, split_into: str | Path | None = None, block_bytes: int = 0
) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Read every file of one site extract.

    Parameters
    ----------
    folder : str or pathlib.Path
        The site's folder; ``patients.csv`` is required, the long tables are optional.
    site : str
        The site's name in the config (used in messages and added as column ``site``).
    split_into : str or pathlib.Path, optional
        A folder for the blocks of a large ``labs.csv``: when given, a laboratory file larger
        than ``block_bytes`` is split into blocks of whole patients there
        (:func:`rwe.blocks.split_by_patient`) and ``tables["labs"]`` is a
        :class:`rwe.blocks.PatientBlocks`.
    block_bytes : int
        Size of a block (default :data:`rwe.blocks.BLOCK_BYTES`).

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
        When the folder or ``patients.csv`` does not exist, or a file cannot be read as CSV
        (:func:`read_extract_file`; the problems of every file are listed together).
    """
    from rwe.blocks import BLOCK_BYTES, block_count, split_by_patient

    folder = Path(folder)
    if not (folder / "patients.csv").is_file():
        raise InputError(
            [
                Problem(
                    f"{site}/patients.csv",
                    None,
                    None,
                    f"required file not found in the site folder of '{site}'",
                )
            ]
        )
    tables, inputs, problems = {}, [], []
    for stem in EXTRACT_FILES:
        path = folder / f"{stem}.csv"
        if not path.is_file():
            continue
        label = f"{site}/{stem}.csv"
        n_blocks = block_count(path, block_bytes or BLOCK_BYTES)
        try:
            if stem == "labs" and split_into is not None and n_blocks > 1:
                table, fmt = split_by_patient(path, label, site, n_blocks, split_into)
                rows = table.rows
            else:
                table, fmt = read_extract_file(path, label)
                rows = len(table)
                table.insert(0, "site", pd.Categorical.from_codes(np.zeros(rows, np.int8), [site]))
                table["_row"] = np.arange(1, rows + 1, dtype=np.int64 if rows >> 31 else np.int32)
        except InputError as err:  # the other files are still read: every problem is listed
            problems += err.problems
            continue
        tables[stem] = table
        inputs.append(
            {
                "site": site,
                "file": f"{stem}.csv",
                "sha256": sha256(path),
                "rows": rows,
                "format": fmt.describe(),
            }
        )
    if problems:
        raise InputError(problems)
    return tables, inputs


def sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_adam(
    path: str | Path, columns: list[str] | None = None, text_as_category: bool = False
) -> pd.DataFrame:
    """Read an analysis dataset written by the derive stage, restoring its dtypes.

    Integer and 0/1 flag columns come back as pandas nullable ``Int64`` (missing stays missing),
    identifiers and codes as text.

    Parameters
    ----------
    path : str or pathlib.Path
    columns : list of str, optional
        Read only these columns (all by default).
    text_as_category : bool
        Read ``site``, ``patient_id`` and the other text columns as categoricals: for the
        laboratory table (tens of millions of rows, few distinct texts) this takes a fraction of
        the memory and time of Python strings.
    """
    if not text_as_category:
        table = pd.read_csv(
            path,
            dtype={"patient_id": str, "site": str},
            usecols=columns,
            keep_default_na=False,
            na_values=WRITTEN_NA,
        )
        for col in ADAM_INT_COLUMNS:
            if col in table.columns:
                table[col] = pd.to_numeric(table[col], errors="raise").astype("Int64")
        return table
    header = pd.read_csv(path, nrows=0).columns
    wanted = [c for c in header if columns is None or c in columns]
    # Every column is read as categorical text (parsing a number per distinct text, not per
    # cell: pandas' float and Int64 parsing of 90 million rows peaked at several gigabytes),
    # then numbers are spread from the categories, parsed as read_csv parses them.
    table = pd.read_csv(
        path, usecols=wanted, dtype="category", keep_default_na=False, na_values=WRITTEN_NA
    )[wanted]
    return_freed_memory()
    for col in wanted:
        if col not in ADAM_INT_COLUMNS and col not in ADAM_FLOAT_COLUMNS:
            continue
        codes = table[col].cat.codes.to_numpy()
        parsed = pd.to_numeric(pd.Series(table[col].cat.categories, dtype=object)).to_numpy(float)
        per_code = np.append(parsed, np.nan)
        if col in ADAM_INT_COLUMNS:
            table[col] = _float_to_int64(per_code, f"{path}: column {col}")[codes]
        else:
            table[col] = per_code[codes]
    return table


def _float_to_int64(values: np.ndarray, label: str, chunk: int = 1 << 22) -> pd.arrays.IntegerArray:
    """Whole floats (NaN = missing) as ``Int64``, converted in chunks to bound the temporaries."""
    missing = np.isnan(values)
    integers = np.zeros(len(values), dtype=np.int64)
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        whole = np.where(missing[start : start + chunk], 0, part)
        integers[start : start + chunk] = whole
        if (integers[start : start + chunk] != whole).any():
            raise ValueError(f"{label} holds non-integer values")
    return pd.arrays.IntegerArray(integers, missing)


def read_text_table(path: str | Path, drop: tuple[str, ...] = ("_row",)) -> pd.DataFrame:
    """Read a table written by :func:`write_table` with every column as categorical text.

    For passing a large table through unchanged (the derive stage copies the validated
    laboratory table, ~90 rows per patient, to ADLB): :func:`write_table` writes each cell's
    text back as read, with a fraction of the memory and time of parsing numbers. Missing cells
    are blank cells only (a text such as ``NA`` stays text), as in :func:`read_adam`.
    """
    table = pd.read_csv(
        path,
        usecols=lambda c: c not in drop,
        dtype="category",
        keep_default_na=False,
        na_values=WRITTEN_NA,
    )
    return_freed_memory()
    return table


def concatenate_csv(parts: list[str | Path], path: str | Path, block: int = 1 << 24) -> None:
    """Concatenate CSV files with the same header into one, as bytes (nothing is parsed).

    The first file's header is kept and the others' are skipped, so pooling the sites' analysis
    datasets costs a copy, however large they are (a 90-million-row ADLB). Each part must end
    with a newline, as :func:`write_table` writes.

    Raises
    ------
    ValueError
        When the headers differ (the parts would not line up): the files and both headers.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(b"")
    for part in parts:
        append_csv(part, path, block)


def append_csv(part: str | Path, path: str | Path, block: int = 1 << 24) -> None:
    """Add the rows of the CSV file ``part`` to the end of ``path`` (its header first if empty).

    Raises
    ------
    ValueError
        When the headers differ: the files and both headers.
    """
    Path(path).touch()
    # Not opened for appending: the kernel's copy refuses a file opened so.
    with open(path, "r+b") as out, open(part, "rb") as fh:
        first = fh.readline()
        if out.seek(0, os.SEEK_END) == 0:
            out.write(first)
        else:
            out.seek(0)
            header = out.readline()
            out.seek(0, os.SEEK_END)
            if first != header:
                raise ValueError(
                    f"{part} has another header than {path}: "
                    f"{first.decode().strip()!r} vs {header.decode().strip()!r}"
                )
        _copy_rest(fh, out, block)


def _copy_rest(source, target, block: int) -> None:
    """Append the rest of ``source`` to ``target``.

    In the kernel where it can (``os.copy_file_range``, Linux), else through Python in blocks.
    """
    target.flush()
    offset = source.tell()
    try:
        while copied := os.copy_file_range(source.fileno(), target.fileno(), block, offset):
            offset += copied
        target.seek(0, os.SEEK_END)
        return
    except (AttributeError, OSError):  # another system, or a file system without it
        source.seek(offset)
        target.seek(0, os.SEEK_END)
    while chunk := source.read(block):
        target.write(chunk)


def pool_csv(parts: list[str | Path], path: str | Path) -> None:
    """Pool the sites' copies of one analysis dataset into ``path``.

    With the same header everywhere (the usual case; always for ADLB, ADAE, ADRS and ADTTE,
    whose columns are fixed) the files are concatenated as bytes (:func:`concatenate_csv`).
    ADSL keeps the optional columns a site sent (``exposure_auc``, the columns derived from
    ``responses.csv``), so its header may differ between sites: then the parts are read as text
    and lined up by column name (in order of first appearance), blank where a site has none.
    """
    headers = [csv_header(part) for part in parts]
    if all(header == headers[0] for header in headers):
        concatenate_csv(parts, path)
        return
    frames = [pd.read_csv(part, dtype=str, keep_default_na=False) for part in parts]
    pooled = pd.concat(frames, ignore_index=True).fillna("")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pooled.to_csv(path, index=False)


def csv_header(path: str | Path) -> list[str]:
    """Column names of a CSV file (its first line)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def read_tables(paths: dict[str, str | Path]) -> dict[str, pd.DataFrame]:
    """Read aggregate tables by name; a file that is absent or empty is left out.

    The report then says which table is missing. Kept here, not in :mod:`rwe.report`, so the
    rules that only read tables (shareable, data cuts) pay for nothing but pandas.
    """
    tables = {}
    for name, path in paths.items():
        try:
            tables[name] = pd.read_csv(path, keep_default_na=False, na_values=WRITTEN_NA)
        except (FileNotFoundError, pd.errors.EmptyDataError):
            continue
    return tables


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A number as text: it starts with a sign but is no formula, and stays as it is.
NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def neutralise_cell(text: str) -> str:
    """Prefix ``'`` to a text a spreadsheet would run as a formula (OWASP's CSV-injection rule).

    A text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed,
    unless it is a number (``-0.5``, ``+3``, ``-1e-05``), which stays a number.
    """
    if text.startswith(FORMULA_STARTS) and not NUMBER_TEXT.fullmatch(text):
        return "'" + text
    return text


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell and column name passed through :func:`neutralise_cell`.

    Numeric columns are left alone; a text column is mapped once per distinct value.
    """
    out = table.copy(deep=False)
    out.columns = [neutralise_cell(str(c)) for c in table.columns]
    for i in range(table.shape[1]):
        column = table.iloc[:, i]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
            codes, distinct = pd.factorize(column)
            mapped = [neutralise_cell(v) if isinstance(v, str) else v for v in distinct]
            if any(m is not v for m, v in zip(mapped, distinct, strict=True)):
                per_code = np.empty(len(mapped) + 1, dtype=object)  # the last: missing (−1)
                per_code[:-1] = mapped
                out.isetitem(i, pd.Series(per_code[codes], index=table.index, dtype=object))
    return out


def write_table(table: pd.DataFrame, path: str | Path, append: bool = False) -> None:
    """Write a result table as CSV (unrounded numbers, empty cells for missing).

    The bytes are those of ``table.to_csv(path, index=False)`` after
    :func:`neutralise_formulas`: a text cell a spreadsheet would run as a formula is prefixed
    with ``'``, numbers stay numbers. Tables of many rows are formatted column-wise
    (:func:`_csv_bytes`), since pandas formats every cell in Python and took minutes on a
    laboratory table of 90 million rows. With ``append``, the rows are added to the end of the
    file without a header (a table written in blocks).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # A carriage return inside a cell is quoted by the column-wise writer only (pandas quotes
    # line feeds, not CRs, which a reader takes for a line break).
    fast = len(table) >= FAST_WRITE_ROWS or _holds_carriage_return(table)
    cells = _csv_cells(table) if fast and table.shape[1] > 1 else None
    if cells is None:
        neutralise_formulas(table).to_csv(
            path, index=False, mode="a" if append else "w", header=not append
        )
        return
    with open(path, "ab" if append else "wb") as fh:
        if not append:
            fh.write(_csv_line([neutralise_cell(str(c)) for c in table.columns]))
        for start in range(0, len(table), WRITE_CHUNK_ROWS):
            fh.write(_csv_bytes(cells, start, min(start + WRITE_CHUNK_ROWS, len(table))))


def _holds_carriage_return(table: pd.DataFrame) -> bool:
    for _, column in table.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            values = column.cat.categories
        elif column.dtype == object:
            values = column.unique()
        else:
            continue
        if any(isinstance(v, str) and "\r" in v for v in values):
            return True
    return False


#: Tables from this many rows are written by :func:`_csv_bytes` (smaller ones by pandas).
FAST_WRITE_ROWS = 10_000
WRITE_CHUNK_ROWS = 1 << 20


def _csv_field(text: str) -> str:
    """A field as the csv module writes it with QUOTE_MINIMAL (pandas' default)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(fields: list[str]) -> bytes:
    return (",".join(_csv_field(f) for f in fields) + "\n").encode("utf-8")


def _csv_cells(table: pd.DataFrame) -> list | None:
    """Per column, how to write its cells, or None when a column is of a kind not handled here.

    Each entry is ``("codes", codes, texts)`` (the text of each distinct value as bytes, the
    missing code −1 pointing at the empty text appended last) or ``("int", values, None)``
    for integers, which are formatted arithmetically.
    Texts are those pandas writes: ``str`` of numpy floats (``astype(str)``), of integers and
    of text, quoted as the csv module quotes.
    """
    cells = []
    for _, column in table.items():
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            distinct = pd.Series(column.cat.categories)
            if distinct.dtype != object or not all(isinstance(v, str) for v in distinct):
                return None
            texts = [_csv_field(neutralise_cell(v)) for v in distinct]
        elif pd.api.types.is_object_dtype(dtype):
            codes, distinct = pd.factorize(column)
            if not all(isinstance(v, str) for v in distinct):
                return None
            texts = [_csv_field(neutralise_cell(v)) for v in distinct]
        elif dtype == np.float64:
            codes, distinct = pd.factorize(column)
            texts = list(np.asarray(distinct, dtype=np.float64).astype(str))
        elif dtype.kind in "iu" or str(dtype) in ("Int64", "Int32", "Int8", "Int16"):
            cells.append(("int", column.array, None))  # converted chunk by chunk
            continue
        else:
            return None
        texts = [t.encode("utf-8") for t in texts] + [b""]
        cells.append(("codes", codes, np.array(texts, dtype=f"S{max(map(len, texts)) or 1}")))
    return cells


def _int_bytes(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Decimal text of integers as a (rows, width) byte matrix, right-aligned, NUL-padded."""
    magnitude = np.abs(values)
    width = max(len(str(int(magnitude.max()))) if len(values) else 1, 1) + 1
    out = np.zeros((len(values), width), dtype=np.uint8)
    rest = magnitude.copy()
    for k in range(width - 1, 0, -1):
        digit_present = (rest > 0) | (k == width - 1)
        out[:, k] = np.where(digit_present, rest % 10 + 48, 0)
        rest //= 10
    negative = values < 0
    if negative.any():
        ndigits = (out[:, 1:] != 0).sum(axis=1)
        out[np.flatnonzero(negative), width - 1 - ndigits[negative]] = ord("-")
    out[missing] = 0
    return out


def _csv_bytes(cells: list, start: int, stop: int) -> bytes:
    """The CSV lines of rows ``start:stop``: each column's bytes side by side, NULs removed."""
    parts = []
    for kind, values, texts in cells:
        chunk = values[start:stop]
        if kind == "int":
            missing = np.asarray(pd.isna(chunk))
            parts.append(
                _int_bytes(np.asarray(chunk.to_numpy(dtype=np.int64, na_value=0)), missing)
            )
        else:
            width = texts.dtype.itemsize
            parts.append(texts[chunk].view(np.uint8).reshape(-1, width))  # code -1: the last, b""
    rows = stop - start
    comma = np.full((rows, 1), ord(","), dtype=np.uint8)
    pieces = []
    for part in parts:
        pieces += [part, comma]
    pieces[-1] = np.full((rows, 1), ord("\n"), dtype=np.uint8)
    matrix = np.hstack(pieces)
    return matrix[matrix != 0].tobytes()
