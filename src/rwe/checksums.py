"""Content checksums of the workflow's inputs and outputs (issue 13, class 7).

Snakemake decides what to re-run from modification times (and the parameters, code and input
lists it records). Two faults escape that:

- a new data cut whose files carry *older* modification times (copied with ``cp -p``, unpacked
  from an archive) would not re-run. :func:`file_checksums` gives the SHA-256 of a site's files
  as a parameter of the site job: new content, new parameter, and Snakemake re-runs the job
  whatever the file times say;
- an output truncated or edited after it was written (whatever its time) would be used as it
  is. :func:`record_outputs` writes the SHA-256 of every output to a manifest in the
  ``sha256sum`` format (``sha256sum -c checksums.sha256`` checks it by hand) when a run ends;
  at the start of the next run :func:`changed_outputs` lists the outputs whose content no
  longer matches, and they are removed so that Snakemake rebuilds them (and, from their new
  content, whatever depends on them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Files Snakemake puts in directory outputs: not part of the content.
IGNORED = (".snakemake_timestamp",)


class DigestCache:
    """SHA-256 digests of files, re-used while a file's identity is unchanged.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A JSON file keeping the digests between runs (:meth:`save`); none: this process only.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.entries: dict[str, list] = {}
        if self.path and self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:  # a damaged cache is no cache
                self.entries = {}

    def sha256(self, path: str | Path) -> str:
        """The digest of a file's bytes: remembered, or computed when its identity changed."""
        st = os.stat(path)
        identity = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        key = str(Path(path).resolve())
        known = self.entries.get(key)
        if known is not None and known[:-1] == identity:
            return known[-1]
        digest = _sha256(path)
        self.entries[key] = [*identity, digest]
        return digest

    def save(self) -> None:
        """Write the digests of the files that still exist (atomically)."""
        if self.path is None:
            return
        self.entries = {k: v for k, v in self.entries.items() if Path(k).is_file()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.entries), encoding="utf-8")
        temporary.replace(self.path)


def _sha256(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_sha256(path: str | Path, cache: DigestCache | None = None) -> str:
    """SHA-256 hex digest of a file's bytes (re-used from ``cache`` when it can be)."""
    return cache.sha256(path) if cache is not None else _sha256(path)


def output_sha256(path: str | Path, cache: DigestCache | None = None) -> str:
    """SHA-256 of an output: of its bytes, or for a folder of each file's path and digest."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path, cache)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in IGNORED):
        digest.update(f"{item.relative_to(path).as_posix()}\0{file_sha256(item, cache)}\n".encode())
    return digest.hexdigest()


def file_checksums(paths: Iterable[str | Path], cache: DigestCache | None = None) -> dict[str, str]:
    """File name -> SHA-256 of each existing file (a Snakemake parameter of the job reading them).

    Parameters
    ----------
    paths : iterable of str or pathlib.Path
        The job's input files.
    cache : DigestCache, optional
        Digests re-used while a file is unchanged.

    Returns
    -------
    dict of str to str
        By file name (not path, so that moving the folder re-runs nothing), in the given order.
    """
    return {Path(p).name: file_sha256(p, cache) for p in paths if Path(p).is_file()}


def read_manifest(manifest: str | Path) -> dict[str, str]:
    """Path -> digest of a ``sha256sum``-format manifest (empty when there is none)."""
    manifest = Path(manifest)
    if not manifest.is_file():
        return {}
    entries = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        found = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if found:
            entries[found[2]] = found[1]
    return entries


def record_outputs(
    outputs: Iterable[str | Path], manifest: str | Path, cache: DigestCache | None = None
) -> dict[str, str]:
    """Record the digest of every existing output in ``manifest``, keeping the other entries.

    Parameters
    ----------
    outputs : iterable of str or pathlib.Path
        Output files or folders of the jobs of a run, relative to the working directory.
    manifest : str or pathlib.Path
        The manifest (``results/checksums.sha256``).
    cache : DigestCache, optional
        Digests re-used while a file is unchanged.

    Returns
    -------
    dict of str to str
        Path -> digest, as written. Entries of outputs that no longer exist are dropped.
    """
    manifest = Path(manifest)
    entries = read_manifest(manifest)
    for output in {str(o) for o in outputs}:
        if Path(output).exists() and Path(output) != manifest:
            entries[output] = output_sha256(output, cache)
    entries = {path: digest for path, digest in sorted(entries.items()) if Path(path).exists()}
    if not entries and not manifest.exists():
        return entries  # a run refused before any output: it leaves no manifest either
    manifest.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{digest}  {path}\n" for path, digest in entries.items())
    temporary = manifest.with_name(manifest.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(manifest)
    return entries


def changed_outputs(manifest: str | Path, cache: DigestCache | None = None) -> list[str]:
    """Outputs recorded in ``manifest`` whose content changed since (missing ones are not)."""
    return [
        path
        for path, digest in read_manifest(manifest).items()
        if Path(path).exists() and output_sha256(path, cache) != digest
    ]


def remove_output(path: str | Path) -> None:
    """Remove an output file or folder, so that the workflow builds it again."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def is_dry_run(argv: Sequence[str]) -> bool:
    """True when Snakemake's command line asks for a dry run (``-n``, ``--dry-run``, ``-np``)."""
    return any(
        arg in ("--dry-run", "--dryrun", "--just-print")
        or re.fullmatch(r"-[a-zA-Z]*n[a-zA-Z]*", arg)
        for arg in argv
    )
