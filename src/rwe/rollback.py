"""A run either completes or leaves the results folder as it was.

Snakemake removes a job's old outputs before it runs the job, so a run that stops half-way
(a site refused, an analysis that fails) would otherwise leave a mixture of new, old and
missing results. The workflow keeps the previous run's outputs aside when it starts
(:func:`keep_previous`: hard links, so nothing is copied), puts them back when it fails
(:func:`roll_back`), and forgets them when it succeeds (:func:`discard`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

#: The folder, inside the results folder, that holds the previous run's outputs during a run.
PREVIOUS = ".previous"


def _backup_path(path: Path, results: Path, backup: Path) -> Path | None:
    """Where ``path`` is kept (None: not under the results folder, not the workflow's)."""
    try:
        relative = path.resolve().relative_to(results.resolve())
    except ValueError:
        return None
    return backup / relative


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def keep_previous(outputs: Iterable[str | Path], results: str | Path) -> Path:
    """Keep the existing ``outputs`` aside (hard links) before a run replaces them.

    Parameters
    ----------
    outputs : iterable of str or pathlib.Path
        Files and folders the run may write (every output of the run's jobs).
    results : str or pathlib.Path
        The results folder; outputs elsewhere are not kept.

    Returns
    -------
    pathlib.Path
        The folder they are kept in (``<results>/.previous``), emptied first: what a killed
        run left there is not this run's previous state.
    """
    results = Path(results)
    backup = results / PREVIOUS
    discard(results)
    for output in {Path(o) for o in outputs}:
        target = _backup_path(output, results, backup)
        if target is None or not output.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if output.is_dir():
            shutil.copytree(output, target, copy_function=_link_or_copy, symlinks=True)
        else:
            _link_or_copy(str(output), str(target))
    return backup


def roll_back(outputs: Iterable[str | Path], results: str | Path) -> int:
    """Put back the outputs kept by :func:`keep_previous`; remove those the run created.

    Parameters
    ----------
    outputs : iterable of str or pathlib.Path
        The outputs to return to their state before the run.
    results : str or pathlib.Path
        The results folder.

    Returns
    -------
    int
        Outputs removed or put back.
    """
    results = Path(results)
    backup = results / PREVIOUS
    changed = 0
    for output in {Path(o) for o in outputs}:
        kept = _backup_path(output, results, backup)
        if kept is None:
            continue
        if output.exists() or output.is_symlink():
            _remove(output)
            changed += 1
        if kept.exists():
            output.parent.mkdir(parents=True, exist_ok=True)
            os.replace(kept, output)
            changed += 1
        else:
            _remove_empty_parents(output.parent, results)
    discard(results)
    return changed


def discard(results: str | Path) -> None:
    """Forget the previous run's outputs (the run succeeded, or a new run starts)."""
    shutil.rmtree(Path(results) / PREVIOUS, ignore_errors=True)


def _remove_empty_parents(folder: Path, results: Path) -> None:
    """The folders a failed run created for an output and left empty, up to ``results``."""
    results = results.resolve()
    folder = folder.resolve()
    while folder != results and results in folder.parents and folder.is_dir():
        if any(folder.iterdir()):
            return
        folder.rmdir()
        folder = folder.parent
