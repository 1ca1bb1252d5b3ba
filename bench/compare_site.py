"""Compare the `site` job's outputs of the working tree with those of a git revision, byte for byte.

    python bench/compare_site.py data/demo --base integ

runs ``workflow/scripts/site.py`` (outside Snakemake, with the demo config's options) on one
extract folder twice: with the code of ``--base`` (``git archive`` of ``src``, ``workflow`` and
``config``) and with the working tree's, then lists every output file that differs. Each run's
wall time is printed. Exit status 1 when an output differs or is missing.

    python bench/compare_site.py data/demo --block-bytes 20000

runs the working tree's job with laboratory blocks of that size (:mod:`rwe.blocks`) and
compares each output's lines regardless of their order (blocks of patients change the order of
ADLB and of the per-patient tables, not their rows).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import runpy
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _Names(types.SimpleNamespace):
    """Snakemake's named lists: attributes, and items by name."""

    def __getitem__(self, key):
        return getattr(self, key)


def run_site(root: Path, folder: str, out: Path, block_bytes: int = 0) -> None:
    """Run ``root``'s site job on ``folder`` (site name ``s``), writing into ``out``."""
    from rwe import config as rc
    from rwe.catalog import ADAM, LAB_SUMMARIES

    schema = root / "workflow" / "schemas" / "config.schema.yaml"
    config = rc.read_config_file(root / "config" / "config.yaml")
    config["sites"] = {"s": folder}
    config = rc.check_config(config, schema, "compare_site")
    options = rc.site_options(config, "s", schema)
    del options["folder"]
    if block_bytes:
        options["block_bytes"] = block_bytes
    out.mkdir(parents=True, exist_ok=True)
    output = {name: str(out / f"{name}.csv") for name in (*ADAM, *LAB_SUMMARIES)}
    output |= {name: str(out / f"{name}.csv") for name in ("data_quality", "plausibility")}
    output["inputs"] = str(out / "inputs.json")
    keys = ("gfr_cutoff", "pfs_death_events", "nadir_window", "response_source", "imwg")
    snakemake = types.SimpleNamespace(
        wildcards=_Names(site="s"),
        threads=2,
        log=[str(out.parent / f"{out.name}.log")],
        output=_Names(**output),
        params=_Names(folder=folder, options=options, **{k: config[k] for k in keys}),
    )
    runpy.run_path(str(root / "workflow" / "scripts" / "site.py"), run_name="site")["main"](
        snakemake
    )


def timed_run(root: Path, folder: str, out: Path, block_bytes: int = 0) -> float:
    """Run :func:`run_site` in a fresh process importing ``root``'s rwe; return its wall time."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    start = time.perf_counter()
    cmd = [sys.executable, __file__, "--run", str(root), folder, str(out)]
    cmd += ["--block-bytes", str(block_bytes)]
    subprocess.run(cmd, env=env, check=True)
    return time.perf_counter() - start


def _same_bytes(a: Path, b: Path) -> bool:
    return filecmp.cmp(a, b, shallow=False)


def _same_lines(a: Path, b: Path) -> bool:
    """The same header and the same lines, in any order."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        lines_a, lines_b = fa.readlines(), fb.readlines()
    return lines_a[:1] == lines_b[:1] and sorted(lines_a[1:]) == sorted(lines_b[1:])


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run both versions, list the differing outputs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a site extract folder (patients.csv, labs.csv, ...)")
    parser.add_argument("--base", default="HEAD", help="git revision compared with (HEAD)")
    parser.add_argument(
        "--block-bytes",
        type=int,
        default=0,
        help="laboratory block size of the working tree's run; outputs compared as sorted lines",
    )
    parser.add_argument("--run", metavar="ROOT", help=argparse.SUPPRESS)
    parser.add_argument("out", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = str(Path(args.folder).resolve())
    if args.run:
        run_site(Path(args.run), folder, Path(args.out), args.block_bytes)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_root = tmp / "code"
        base_root.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.base, "src", "workflow", "config"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base_root)], input=archive, check=True)
        seconds = {
            "base": timed_run(base_root, folder, tmp / "base"),
            "new": timed_run(ROOT, folder, tmp / "new", args.block_bytes),
        }
        same = _same_lines if args.block_bytes else _same_bytes
        print(f"site job: {args.base} {seconds['base']:.1f} s, working tree {seconds['new']:.1f} s")
        names = sorted(p.name for p in (tmp / "base").iterdir())
        differ = [
            n
            for n in names
            if not (tmp / "new" / n).is_file() or not same(tmp / "base" / n, tmp / "new" / n)
        ]
        for name in names:
            print(f"{'DIFFERENT' if name in differ else 'identical'}  {name}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
