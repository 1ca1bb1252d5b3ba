"""Logging of the workflow's scripts: every message, warning and traceback goes to the rule's log.

Each ``workflow/scripts/*.py`` calls :func:`log_to` with ``snakemake.log[0]`` first, so a rule
that fails leaves its own reason in the file Snakemake points to.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from rwe.exceptions import RweError


def _log_uncaught(kind, error, trace) -> None:
    """``sys.excepthook``: the error into the log, then on stderr as Python would print it."""
    if issubclass(kind, RweError):  # a readable message, written on purpose: no traceback
        logging.getLogger("rwe").error("%s", error)
        print(error, file=sys.stderr)
        return
    logging.getLogger("rwe").critical("uncaught error", exc_info=(kind, error, trace))
    sys.__excepthook__(kind, error, trace)


def log_to(path: str | Path, level: int = logging.INFO) -> logging.Logger:
    """Send logging, warnings and any uncaught exception of this process to ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        The rule's log file (``snakemake.log[0]``); created with its folder, appended to.
    level : int
        Lowest level written.

    Returns
    -------
    logging.Logger
        The ``rwe`` logger (the root logger writes to the same file).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=level, format="%(message)s", force=True)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    return logging.getLogger("rwe")
