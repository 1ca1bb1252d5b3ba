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

    def format(self, most_rows: int = 10, most_lines: int = 40) -> str:
        """Return the problems as one readable message.

        Problems that differ only by row are folded into one line that lists the rows (the
        first ``most_rows`` of them and how many more); at most ``most_lines`` such lines are
        shown, then how many more problems there are. Long column names are shortened.
        """
        groups: dict[tuple, list[int | None]] = {}
        for p in self.problems:
            groups.setdefault((p.file, p.column, p.message), []).append(p.row)
        n = len(self.problems)
        lines = [f"The input extract has {n} problem{'s' if n != 1 else ''}:"]
        shown = 0
        for (file, column, message), rows in list(groups.items())[:most_lines]:
            where = [file]
            known = [r for r in rows if r is not None]
            if known:
                listed = ", ".join(str(r) for r in known[:most_rows])
                more = f" and {len(known) - most_rows} more" if len(known) > most_rows else ""
                where.append(f"row{'s' if len(known) > 1 else ''} {listed}{more}")
            if column is not None:
                where.append(f"column '{_short(column)}'")
            lines.append(f"  - {', '.join(where)}: {message}")
            shown += len(rows)
        if len(groups) > most_lines:
            lines.append(
                f"  … and {n - shown} more problems of {len(groups) - most_lines} other "
                "kinds; correct these and run again to see them"
            )
        if any(p.row is not None for p in self.problems):
            lines.append("Rows are data rows: row 1 is the first line after the header.")
        return "\n".join(lines)


#: Longest column name a message shows whole.
MOST_NAME_CHARS = 40


def _short(name: str) -> str:
    return name if len(name) <= MOST_NAME_CHARS else name[: MOST_NAME_CHARS - 1] + "…"


class ConfigError(RweError):
    """The configuration is invalid or inconsistent with the input."""
