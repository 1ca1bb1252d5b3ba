"""A large laboratory file read once and split into blocks of whole patients.

A site's ``labs.csv`` holds about a hundred rows a patient: at 10^6 patients, over 10^8 rows,
more than a 2-core, few-gigabyte machine should hold at once. :func:`split_by_patient` reads it
in row chunks (:func:`rwe.io.read_extract_chunks`) and writes each row's column codes to the
block of its patient (patient ``k`` in order of first appearance goes to block ``k mod n``), so
every check and derivation that works per patient (duplicate rows, ANC against WBC, nadirs,
grades, the IMWG response) runs unchanged on one block at a time, and memory grows with the
block, not the file. Rows keep their file row (``_row``) for messages, and their file order
within a block.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: A laboratory file larger than this is validated and derived in blocks of whole patients
#: (about 3 million rows a block).
BLOCK_BYTES = 1 << 27
#: Data rows parsed at a time while splitting.
CHUNK_ROWS = 1 << 21


def block_count(path: str | Path, block_bytes: int = BLOCK_BYTES) -> int:
    """How many blocks a file of this size is split into (1: read whole)."""
    return max(1, math.ceil(Path(path).stat().st_size / block_bytes))


@dataclass
class PatientBlocks:
    """The blocks of one file written by :func:`split_by_patient`; iterating reads them back.

    Attributes
    ----------
    directory : pathlib.Path
        Where the blocks are (one ``.npy`` stream a block).
    columns : list of str
        The file's columns (names as :func:`rwe.io.read_extract_file` gives them).
    categories : dict of str to numpy.ndarray
        Every distinct (cleaned) text of each column; the blocks hold codes into them.
    site : str
    rows : int
        Data rows of the whole file.
    """

    directory: Path
    columns: list[str]
    categories: dict[str, np.ndarray]
    site: str
    rows: int
    n_blocks: int

    def __len__(self) -> int:
        return self.n_blocks

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for block in range(self.n_blocks):
            yield self.block(block)

    def block(self, block: int) -> pd.DataFrame:
        """One block, as :func:`rwe.io.read_site` gives a whole table.

        Text categories (those the block uses), ``site`` first and ``_row`` last.
        """
        parts: dict[str, list[np.ndarray]] = {c: [] for c in (*self.columns, "_row")}
        with open(self._path(block), "rb") as fh:
            while fh.peek(1):
                for name in parts:
                    parts[name].append(np.load(fh))
        arrays = {c: np.concatenate(p) for c, p in parts.items()}
        n = len(arrays["_row"])
        table = {"site": pd.Categorical.from_codes(np.zeros(n, np.int8), [self.site])}
        for col in self.columns:
            table[col] = _used(arrays.pop(col), self.categories[col])
        table["_row"] = arrays["_row"]
        return pd.DataFrame(table, copy=False)

    def _path(self, block: int) -> Path:
        return self.directory / f"block{block}.npy"


def _used(codes: np.ndarray, categories: np.ndarray) -> pd.Categorical:
    """A categorical of the codes with only the categories they use (in the same order)."""
    known = codes >= 0
    used = np.bincount(codes[known], minlength=len(categories)) > 0
    renumber = np.cumsum(used) - 1
    new = np.where(known, renumber[np.where(known, codes, 0)], -1)
    kind = np.int8 if used.sum() < 127 else np.int32
    return pd.Categorical.from_codes(new.astype(kind), pd.Index(categories[used], dtype=object))


def split_by_patient(
    path: str | Path, label: str, site: str, n_blocks: int, directory: str | Path
) -> tuple[PatientBlocks, object]:
    """Read a long extract file in chunks and write its rows to blocks of whole patients.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (with a ``patient_id`` column; without one every row goes to block 0).
    label : str
        The file's name in messages.
    site : str
        The site's name (the ``site`` column of each block).
    n_blocks : int
        Number of blocks: patient ``k`` (numbered in order of first appearance) goes to block
        ``k mod n_blocks``; rows without a patient to block 0.
    directory : str or pathlib.Path
        An existing folder for the blocks (a temporary one: the caller removes it).

    Returns
    -------
    blocks : PatientBlocks
    file_format : rwe.io.FileFormat

    Raises
    ------
    InputError
        As :func:`rwe.io.read_extract_file`, every problem of the file listed.
    """
    from rwe.io import read_extract_chunks

    directory = Path(directory)
    chunks, fmt = read_extract_chunks(path, label, CHUNK_ROWS)
    codes_of: dict[str, dict[str, int]] = {}
    files = [open(directory / f"block{b}.npy", "wb") for b in range(n_blocks)]  # noqa: SIM115
    rows = 0
    columns: list[str] = []
    try:
        for table, first in chunks:
            columns = list(table.columns)
            codes = {c: _global_codes(table[c], codes_of.setdefault(c, {})) for c in columns}
            codes["_row"] = np.arange(first, first + len(table), dtype=np.int64)
            patient = codes.get("patient_id", np.full(len(table), -1, dtype=np.int32))
            block = np.where(patient >= 0, patient % n_blocks, 0)
            order = np.argsort(block, kind="stable")
            bounds = np.searchsorted(block[order], np.arange(n_blocks + 1))
            for name, values in codes.items():
                codes[name] = values[order]
            for b, fh in enumerate(files):
                for values in codes.values():
                    np.save(fh, values[bounds[b] : bounds[b + 1]])
            rows += len(table)
    finally:
        for fh in files:
            fh.close()
    categories = {c: np.array(list(codes_of[c]), dtype=object) for c in columns}
    return PatientBlocks(directory, columns, categories, site, rows, n_blocks), fmt


def _global_codes(column: pd.Series, codes_of: dict[str, int]) -> np.ndarray:
    """The chunk's codes as codes into every distinct text seen so far (new texts appended)."""
    per_category = np.array(
        [codes_of.setdefault(text, len(codes_of)) for text in column.cat.categories],
        dtype=np.int32,
    )
    local = column.cat.codes.to_numpy()
    return np.where(local >= 0, per_category[np.maximum(local, 0)], -1).astype(np.int32)
