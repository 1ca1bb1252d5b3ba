"""``make bench``: time rwe's whole workflow beside R's survival package and lifelines.

For each cohort size: bootstrap a cohort from one simulated extract (``rwe resample``), run the
whole Snakemake workflow on it, run the same survival and response analyses in R
(``bench/bench_survival.R``) and the survival fits in lifelines (``bench/bench_lifelines.py``)
on rwe's ADSL/ADTTE, and write ``docs/benchmarks.md``. Every command runs under
``/usr/bin/time -v`` (wall time, CPU time, peak RSS). Cohorts and results go to the git-ignored
``bench/data`` and ``bench/results``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA, RESULTS = ROOT / "bench" / "data", ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
BYTES_PER_PATIENT = 3_850  # on disk, all four CSVs of a cohort (measured: 10^6 -> 3.84 GB)

# What each rule's cost is made of, for the "how cost grows" section.
RULE_COST = {
    "site": "reads, validates, harmonises and derives one site's extract: linear in rows. "
    "labs.csv (about 130 rows a patient, the IMWG response tests included) is the largest "
    "input, parsed here only: read once in chunks and split into blocks of whole patients "
    "(128 MiB of file each), then each block validated and derived on its own, in as many "
    "processes as the job has threads (2 here), its outputs appended as it completes; memory "
    "grows with a block and with the patients, not with the lab rows. Within a block, integer "
    "codes and numpy arrays rather than text keys or per-patient loops: the plausibility "
    "checks, the lab grades, the nadirs within each patient's window (dense minima) and the "
    "IMWG response (the last value of each patient, day and test by one hash of integer keys; "
    "confirmation and best response on sorted arrays).",
    "pool": "concatenates the sites' datasets as bytes (linear in bytes) and tabulates attrition "
    "and baseline from the pooled ADSL (linear in n).",
    "provenance": "the site jobs' input records (SHA-256 of each file) and the config: "
    "independent of n.",
    "response": "counts per analysis set and subgroup level (linear in n); the exact tests cost "
    "O(k) per table for counts k.",
    "survival": "one sort per group; identical patients collapsed into counted rows; KM and "
    "log-rank by cumulative sums, O(n log n); Cox Newton steps O(m p^2) on the m distinct rows; "
    "concordance O(m log m) by a wavelet matrix; cox.zph from the same per-time arrays.",
    "safety": "reads ADSL, ADAE and the per-patient lab summaries (not ADLB); AE and nadir "
    "tables are groupbys (linear in patients); Mann-Whitney sorts, O(n log n); exposure-response "
    "IRLS is O(n p^2) per iteration and per cross-validation fold.",
    "published_comparison": "compares small aggregate tables with the paper: independent of n.",
    "response_agreement": "reads ADSL and ADRS_DERIVED (about ten rows a patient) and "
    "cross-tabulates derived against recorded best response, with duration of response: "
    "linear in rows.",
    "comparative": "propensity-score model (IRLS, O(n p^2) per iteration), weights, balance, "
    "weighted KM, Cox and RMST (one sort per group) and Gray's test and Fine-Gray on the "
    "distinct times: O(n log n).",
    "figures": "reads ADSL and the nadirs (linear in n); KM from the survival rule's curves "
    "(bounded by distinct times), nadir boxes from five numbers each, patient-level panels a "
    "fixed-size sample: drawing does not grow with n.",
    "data_cut": "copies the aggregate tables and keeps one outcome row per patient: linear in n.",
    "report": "embeds the figures and tables in one HTML file: grows with the figures, not n.",
    "shareable": "copies aggregate tables with small-cell suppression: independent of n.",
}


def timed(cmd: list[str], log: Path, timeout: float | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v; return wall, CPU, peak RSS, exit code and stdout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    stats = log.with_suffix(".time")
    with open(log, "w") as err:
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", str(stats), *map(str, cmd)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,  # its own process group, so a timeout stops the whole run
        )
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"returncode": "timeout", "stdout": "", "wall_s": timeout}
    text = stats.read_text()
    field = lambda name: re.search(rf"{name}: (.+)", text).group(1)  # noqa: E731
    wall = [float(x) for x in field(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\)").split(":")]
    return {
        "returncode": proc.returncode,
        "stdout": stdout,
        "wall_s": sum(x * 60**i for i, x in enumerate(reversed(wall))),
        "cpu_s": float(field("User time \\(seconds\\)"))
        + float(field("System time \\(seconds\\)")),
        "max_rss_mb": int(field(r"Maximum resident set size \(kbytes\)")) / 1024,
    }


def data_rows(path: Path) -> int:
    """Lines after the header (the cohorts' CSVs hold no line breaks inside cells)."""
    with open(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")) - 1


def make_cohort(n: int, seed: int, source_n: int) -> dict:
    """Bootstrap an n-patient cohort from a simulated source extract (reused if already there)."""
    folder = DATA / str(n)
    stamp = folder / "cohort.json"
    # The simulator's code is part of what a cohort is: a changed simulator makes new cohorts.
    simulator = hashlib.sha256((ROOT / "src" / "rwe" / "simulate.py").read_bytes()).hexdigest()
    spec = {"n": n, "seed": seed, "source_n": source_n, "simulator": simulator[:12]}
    if (
        stamp.is_file()
        and {k: v for k, v in json.loads(stamp.read_text()).items() if k in spec} == spec
    ):
        info = json.loads(stamp.read_text())
        if "rows" not in info:  # a cohort made before rows were counted
            info["rows"] = {p.name: data_rows(p) for p in folder.glob("*.csv")}
            stamp.write_text(json.dumps(info, indent=1))
        return info
    free = shutil.disk_usage(DATA.parent).free
    if free < 4 * BYTES_PER_PATIENT * n:  # the cohort, its validated copy, ADaM and slack
        raise SystemExit(
            f"bench: {free / 1e9:.0f} GB free, need ~{4 * BYTES_PER_PATIENT * n / 1e9:.0f} GB for n={n}"
        )
    source = DATA / f"source_{source_n}_{seed}_{simulator[:12]}"
    if not (source / "labs.csv").is_file():
        subprocess.run(
            [BIN / "rwe", "simulate", source, "--n", str(source_n), "--seed", str(seed)], check=True
        )
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    run = timed(
        [BIN / "rwe", "resample", source, folder, "--n", n, "--seed", seed, "--site", "bench"],
        RESULTS / str(n) / "logs" / "resample.log",
    )
    if run["returncode"] != 0:
        raise SystemExit(f"bench: rwe resample failed for n={n}")
    files = {p.name: p.stat().st_size for p in folder.glob("*.csv")}
    info = spec | {
        "wall_s": time.perf_counter() - start,
        "max_rss_mb": run["max_rss_mb"],
        "bytes": sum(files.values()),
        "files": files,
        "rows": {p.name: data_rows(p) for p in folder.glob("*.csv")},
    }
    stamp.write_text(json.dumps(info, indent=1))
    return info


def bench_config(n: int, out: Path) -> Path:
    """The demo config pointed at the bench cohort and a results folder of its own."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["sites"] = {"bench": str((DATA / str(n)).relative_to(ROOT))}
    config["results_dir"] = str((out / "rwe").relative_to(ROOT))
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_rwe(config: Path, out: Path, cores: int) -> dict:
    """The whole workflow from scratch, timed from outside, with every rule's benchmark."""
    shutil.rmtree(out / "rwe", ignore_errors=True)
    cmd = [
        BIN / "snakemake",
        "--cores",
        cores,
        "--keep-going",
        "--configfile",
        config.relative_to(ROOT),
    ]
    run = timed(cmd, out / "logs" / "snakemake.log")
    rules = {}
    for tsv in sorted((out / "rwe" / "benchmarks").rglob("*.tsv")):
        row = pd.read_csv(tsv, sep="\t").iloc[0]
        # benchmarks/<rule>.tsv, or benchmarks/<rule>/<wildcard>.tsv for a job per site
        name = tsv.stem if tsv.parent.name == "benchmarks" else tsv.parent.name
        rules[name] = {
            "wall_s": float(row["s"]),
            "max_rss_mb": float(row["max_rss"]),
            "max_pss_mb": float(row["max_pss"]),
            "cpu_s": float(row["cpu_time"]),
        }
    report = out / "rwe" / "report.html"
    failed = re.findall(r"^Error in rule (\w+)", (out / "logs" / "snakemake.log").read_text(), re.M)
    return run | {
        "rules": rules,
        "failed_rules": failed,
        "report_bytes": report.stat().st_size if report.is_file() else None,
    }


def run_r(config: dict, out: Path, raw_max: int, n: int) -> dict:
    """bench_survival.R on rwe's ADSL/ADTTE (and read.csv of the raw extract if n <= raw_max)."""
    from rwe.survival import resolve_conventions

    lists = [
        ",".join(map(str, x))
        for x in (
            config["subgroups"],
            config["cox"]["covariates"],
            config["km"]["landmarks_months"],
        )
    ]
    cmd = [
        "Rscript",
        "bench/bench_survival.R",
        out / "rwe" / "adam",
        out / "r",
        # The CI scale the workflow used: km.conf_type, or the one of `conventions` when unset.
        resolve_conventions(
            config.get("conventions", "r"), config["km"].get("conf_type")
        ).conf_type,
        config["conf_level"],
        config["min_regimen_n"],
        *lists,
    ]
    run = timed(cmd, out / "logs" / "r.log")
    run["steps"] = dict(re.findall(r"^(\w+)=(.+)$", run.pop("stdout"), flags=re.M))
    if n <= raw_max:
        raw = timed(
            ["Rscript", "bench/bench_survival.R", "--read-raw", DATA / str(n)],
            out / "logs" / "r_raw.log",
        )
        run["read_raw"] = raw | dict(re.findall(r"^(\w+)=(.+)$", raw.pop("stdout"), flags=re.M))
    return run


def run_lifelines(config_path: Path, out: Path, cap: float) -> dict:
    """bench_lifelines.py with its time cap (and a hard stop at twice the cap)."""
    cmd = [sys.executable, "bench/bench_lifelines.py", out / "rwe" / "adam", config_path, cap]
    run = timed(cmd, out / "logs" / "lifelines.log", timeout=2 * cap + 120)
    if run["returncode"] == "timeout":
        return run | {"status": "capped", "fits_done": None}
    return run | json.loads(run.pop("stdout"))


def agreement(out: Path) -> dict:
    """Largest difference between R's and rwe's KM medians and Cox hazard ratios."""
    keys = {
        "km_medians": (["analysis_set", "endpoint", "variable", "level"], "median"),
        "cox": (["analysis_set", "endpoint", "model", "term"], "hr"),
    }
    result = {}
    for name, (on, value) in keys.items():
        if not (out / "rwe" / "tables" / f"{name}.csv").is_file():
            continue
        r = pd.read_csv(out / "r" / f"{name}.csv", dtype={"level": str})
        rwe = pd.read_csv(out / "rwe" / "tables" / f"{name}.csv", dtype={"level": str})
        both = r.merge(rwe, on=on, suffixes=("_r", "_rwe")).dropna(
            subset=[f"{value}_r", f"{value}_rwe"]
        )
        diff = (
            (both[f"{value}_r"] - both[f"{value}_rwe"]).abs().max() if len(both) else float("nan")
        )
        result[name] = {"compared": len(both), "max_abs_diff": float(diff)}
    return result


def git_commit() -> str:
    """Short commit of the working tree, marked when it has uncommitted changes."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout  # noqa: E731
    dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    return git("rev-parse", "--short", "HEAD").strip() + (" + uncommitted changes" if dirty else "")


def machine() -> dict:
    """CPU, cores, RAM, OS and the versions of everything timed."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*: (.+)", cpuinfo)
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    osr = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', Path("/etc/os-release").read_text(), re.M))
    r = subprocess.run(
        [
            "Rscript",
            "-e",
            'cat(R.version.string, "; survival", format(packageVersion("survival")))',
        ],
        capture_output=True,
        text=True,
    )
    commit = git_commit()
    packages = [
        "rwe",
        "pandas",
        "numpy",
        "scipy",
        "lifelines",
        "statsmodels",
        "plotnine",
        "snakemake",
    ]
    return {
        "cpu": model.group(1) if model else platform.processor(),
        "cores": os.cpu_count(),
        "ram_gb": mem_kb / 1024**2,
        "os": f"{osr.get('PRETTY_NAME', platform.system())}, kernel {platform.release()}",
        "python": platform.python_version(),
        "r": r.stdout.strip(),
        "packages": ", ".join(f"{p} {metadata.version(p)}" for p in packages),
        "commit": commit,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def bench_size(n: int, args: argparse.Namespace) -> dict:
    """Everything measured for one cohort size (saved to bench/results/<n>/measurements.json)."""
    out = RESULTS / str(n)
    out.mkdir(parents=True, exist_ok=True)
    result = {"n": n, "commit": git_commit(), "cohort": make_cohort(n, args.seed, args.source_n)}
    if n not in args.cohort_only:
        config_path = bench_config(n, out)
        config = yaml.safe_load(config_path.read_text())
        print(f"bench n={n}: rwe workflow", flush=True)
        result["rwe"] = run_rwe(config_path, out, args.cores)
        if result["rwe"]["returncode"] != 0:
            print(f"bench n={n}: the workflow failed, see {out / 'logs' / 'snakemake.log'}")
        if (out / "rwe" / "adam" / "adtte.csv").is_file():  # R and lifelines start from ADaM
            print(f"bench n={n}: R", flush=True)
            result["r"] = run_r(config, out, args.r_raw_max, n)
            print(f"bench n={n}: lifelines", flush=True)
            result["lifelines"] = run_lifelines(config_path, out, args.lifelines_cap)
            result["agreement"] = agreement(out) if result["r"]["returncode"] == 0 else None
    (out / "measurements.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure each size, write the markdown."""
    from document import render  # bench/document.py

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--cohort-only",
        type=int,
        nargs="*",
        default=[],
        help="sizes for which only the cohort is generated and measured",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--source-n", type=int, default=10_000, help="patients simulated, then resampled"
    )
    parser.add_argument("--lifelines-cap", type=float, default=600, help="seconds per size")
    parser.add_argument(
        "--r-raw-max", type=int, default=100_000, help="largest n whose raw CSVs R reads"
    )
    parser.add_argument(
        "--preliminary", action="store_true", help="mark the document as preliminary"
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the markdown from bench/results/<n>/measurements.json without measuring",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes) | set(args.cohort_only))
    here = machine()
    if args.render_only:
        files = [RESULTS / str(n) / "measurements.json" for n in sizes]
        results = [json.loads(f.read_text()) for f in files]
        # The date of the measurements, not of this rewrite.
        last = max(f.stat().st_mtime for f in files)
        here["date"] = datetime.datetime.fromtimestamp(last, datetime.UTC).strftime(
            "%Y-%m-%d %H:%M UTC"
        )
    else:
        results = [bench_size(n, args) for n in sizes]
    args.out.write_text(render(here, results, args, RULE_COST))
    print(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
