"""Errors raised at the boundary and shown to the user as one readable list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in the input.

    Parameters
    ----------
    file : str
        File name relative to the site folder (e.g. ``demo/patients.csv``).
    row : int or None
        1-based data row (the header is row 0); None when the problem concerns the whole file
        or a whole column.
    column : str or None
        Column name, or None when the problem concerns the whole row or file.
    message : str
        What was expected. Never contains the value of an identifier-like column.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class RweError(Exception):
    """Base class of every error rwe raises on purpose."""


class InputError(RweError):
    """The input extract breaks the contract; carries every problem found.

    Parameters
    ----------
    problems : list of Problem
        All problems, in file/row order.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        """Return the problems as one readable message, one line each."""
        n = len(self.problems)
        head = f"The input extract has {n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class ConfigError(RweError):
    """The configuration is invalid or inconsistent with the input."""
