"""Markdown of ``docs/benchmarks.md`` from the measurements of ``bench/run.py``."""

from __future__ import annotations

import math

R_STEPS = ("read_adam", "survival", "response")  # as bench_survival.R prints them
LIKE_FOR_LIKE = ("survival", "response")  # the rules whose analyses bench_survival.R repeats
MEASURABLE_S = 0.5  # CPU seconds below which a slope is start-up noise
TARGET_RATIO, TARGET_1M_S, TARGET_1M_MB = 1.0, 120, 4096


def _s(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _per_patient(results: list[dict]) -> str:
    """Rows a patient of each cohort file, from the largest cohort measured."""
    sized = [r for r in results if r["cohort"].get("rows")]
    if not sized:
        return "rows not counted"
    big = max(sized, key=lambda r: r["n"])
    rows = big["cohort"]["rows"]
    return (
        ", ".join(
            f"{rows[f] / big['n']:.0f} {f.removesuffix('.csv')}"
            for f in ("labs.csv", "responses.csv", "adverse_events.csv")
            if f in rows
        )
        + " rows a patient"
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _analysed(results: list[dict]) -> list[dict]:
    """Sizes with rule benchmarks and an R run (the workflow may have failed in a late rule)."""
    return [r for r in results if r.get("rwe", {}).get("rules") and r.get("r")]


def _failed(result: dict) -> str:
    failed = result["rwe"].get("failed_rules") or []
    return f"; failed in {', '.join(failed)}" if failed else ""


def _by_time(result: dict) -> list[str]:
    """Rules of one size, slowest (wall time) first."""
    rules = result["rwe"]["rules"]
    return sorted(rules, key=lambda rule: -rules[rule]["wall_s"])


def _memory_mb(rule: dict) -> float:
    """A rule's peak memory: PSS where measured (older measurements: RSS)."""
    return rule.get("max_pss_mb", rule["max_rss_mb"])


def like_for_like_s(result: dict, clock: str = "wall_s") -> float:
    """Seconds (wall or CPU) of the rwe rules that compute what the R script computes."""
    return sum(result["rwe"]["rules"].get(rule, {}).get(clock, 0.0) for rule in LIKE_FOR_LIKE)


def _lifelines(result: dict) -> str:
    ll = result.get("lifelines")
    if not ll:
        return "–"
    if ll.get("returncode") == "timeout":
        return f"> {_s(ll['wall_s'])} (stopped)"
    if ll.get("status") == "capped":
        done = f", {ll['fits_done']} of {ll['fits_total']} fits" if ll.get("fits_done") else ""
        return f"> {_s(ll['cap_s'] if 'cap_s' in ll else ll['wall_s'])} (cap{done})"
    return f"{_s(ll['wall_s'])} ({_mb(ll.get('max_rss_mb'))} MB)"


def machine_section(m: dict, results: list[dict]) -> list[str]:
    """The machine and software versions (the commit each size was measured at, if recorded)."""
    measured = {r["commit"] for r in results if "commit" in r}
    m = m | ({"commit": "; ".join(sorted(measured))} if measured else {})
    rows = [
        ["CPU", m["cpu"]],
        ["Cores", str(m["cores"])],
        ["RAM", f"{m['ram_gb']:.0f} GB"],
        ["OS", m["os"]],
        ["Python", m["python"]],
        ["R", m["r"]],
        ["Packages", m["packages"]],
        ["rwe commit", m["commit"]],
        ["Run", m["date"]],
    ]
    return ["## Machine", "", *_table(["", ""], rows), ""]


def summary_section(results: list[dict], args) -> list[str]:
    """One row per size: cohort, rwe, R, lifelines, ratios, report size."""
    rows = []
    for r in results:
        c = r["cohort"]
        row = [f"{r['n']:,}", f"{_s(c['wall_s'])} s, {c['bytes'] / 1e6:,.0f} MB"]
        if "rwe" not in r:
            rows.append(row + ["not run"] + ["–"] * 8)
            continue
        w = r["rwe"]
        if not r.get("r"):
            rows.append(row + [f"failed ({w['returncode']}{_failed(r)})"] + ["–"] * 8)
            continue
        R, like = r["r"], like_for_like_s(r)
        rows.append(
            row
            + [
                f"{_s(w['wall_s'])} ({_s(w['cpu_s'])}){_failed(r)}",
                _mb(w["max_rss_mb"]),
                _s(like),
                f"{_s(R['wall_s'])} ({_s(R['cpu_s'])})",
                _mb(R["max_rss_mb"]),
                f"{w['wall_s'] / R['wall_s']:.1f}",
                f"{like / R['wall_s']:.1f} ({like_for_like_s(r, 'cpu_s') / R['cpu_s']:.1f})",
                _lifelines(r),
                f"{w['report_bytes'] / 1e6:.1f} MB" if w["report_bytes"] else "–",
            ]
        )
    header = [
        "n",
        "cohort: resample time, size",
        "rwe workflow s (CPU s)",
        "rwe peak MB",
        "rwe survival+response rules s",
        "R s (CPU s)",
        "R peak MB",
        "rwe/R (workflow)",
        "rwe/R (same analyses): wall (CPU)",
        "lifelines s (peak MB)",
        "report.html",
    ]
    return ["## Summary", "", *_table(header, rows), ""]


def detail_section(results: list[dict]) -> list[str]:
    """R's and lifelines' time by step (their own clocks), and R reading the raw CSVs."""
    rows = []
    for r in _analysed(results):
        steps, raw, ll = r["r"].get("steps", {}), r["r"].get("read_raw"), r.get("lifelines", {})
        fits = ll.get("seconds", {})
        rows.append(
            [
                f"{r['n']:,}",
                *(_s(float(steps[k])) if k in steps else "–" for k in R_STEPS),
                f"{_s(float(raw['read_raw']))} s, {_mb(raw['max_rss_mb'])} MB"
                if raw
                else "not run",
                " / ".join(_s(fits.get(k)) for k in ("km", "logrank", "cox")),
                _mb(ll.get("max_rss_mb")),
            ]
        )
    if not rows:
        return []
    header = [
        "n",
        "R: read ADaM s",
        "R: survival s",
        "R: response s",
        "R: read.csv of the raw extract",
        "lifelines: KM / log-rank / Cox s",
        "lifelines peak MB",
    ]
    return ["### R and lifelines by step", "", *_table(header, rows), ""]


def rules_section(results: list[dict]) -> list[str]:
    """Every rule's wall time, CPU time and peak RSS per size (Snakemake benchmark files)."""
    done = _analysed(results)
    if not done:
        return []
    rules = sorted(
        {rule for r in done for rule in r["rwe"]["rules"]},
        key=lambda rule: -done[-1]["rwe"]["rules"].get(rule, {}).get("wall_s", 0),
    )
    rows = []
    for rule in rules:
        cells = []
        for r in done:
            b = r["rwe"]["rules"].get(rule)
            cells.append(
                "–"
                if b is None
                else f"{_s(b['wall_s'])} s ({_s(b['cpu_s'])}), {_mb(_memory_mb(b))} MB"
            )
        rows.append([rule, *cells])
    header = ["rule", *[f"n = {r['n']:,}: wall (CPU), peak PSS" for r in done]]
    return [
        "## Per rule",
        "",
        "Sorted by wall time at the largest size run. Memory is Snakemake's `max_pss`: the "
        "rule's processes' resident memory with the pages they share counted once (the site "
        "job's and the figures' worker processes share their parent's libraries and data; "
        "their summed `max_rss` counts those once per process).",
        "",
        *_table(header, rows),
        "",
    ]


def slope(ns: list[int], ts: list[float]) -> float:
    """Least-squares slope of log(time) on log(n): 1 is linear, 0 is a fixed cost."""
    x, y = [math.log(n) for n in ns], [math.log(max(t, 1e-3)) for t in ts]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sum(
        (a - mx) ** 2 for a in x
    )


def growth_section(results: list[dict], rule_cost: dict[str, str]) -> list[str]:
    """Log-log slopes of each step's CPU time between consecutive sizes and over all sizes."""
    done = _analysed(results)
    lines = ["## How each step's cost grows with n", ""]
    if len(done) < 2:
        return lines + ["Needs at least two sizes.", ""]
    ns = [r["n"] for r in done]
    series = {
        rule: [r["rwe"]["rules"].get(rule, {}).get("cpu_s") for r in done]
        for rule in _by_time(done[-1])
    }
    series["whole workflow"] = [r["rwe"]["cpu_s"] for r in done]
    series["R (survival + response)"] = [r["r"]["cpu_s"] for r in done]
    pairs = list(zip(ns, ns[1:], strict=False))
    rows = []
    for name, ts in series.items():
        if any(t is None for t in ts):
            continue
        steps = [
            f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}" if min(t1, t2) >= MEASURABLE_S else "–"
            for (n1, n2), t1, t2 in zip(pairs, ts, ts[1:], strict=False)
        ]
        kept = [(n, t) for n, t in zip(ns, ts, strict=True) if t >= MEASURABLE_S]
        fit = f"{slope(*zip(*kept, strict=True)):.2f}" if len(kept) > 1 else "–"
        rows.append([name, *steps, fit, rule_cost.get(name, "")])
    header = ["step", *[f"{a:,}→{b:,}" for a, b in pairs], "fit", "what the cost is made of"]
    return lines + [
        "Slope of log(CPU time) against log(n), between consecutive sizes and fitted over all "
        "of them: 1 means time grows in proportion to n, 0 means a fixed cost (Python and "
        "library start-up, about 1–2 s of CPU a rule) still dominates. CPU time rather than "
        "wall time, because the wall time of a rule on a shared machine also counts waiting for "
        "a core. Slopes between small sizes understate the asymptotic growth; the largest pair "
        f"is the one to extrapolate from. – : under {MEASURABLE_S} s of CPU, too short to time.",
        "",
        *_table(header, rows),
        "",
    ]


def targets_section(results: list[dict]) -> list[str]:
    """Which target is met, and which rule holds back the missed ones."""
    lines = ["## Targets", ""]
    for r in _analysed(results):
        rules = r["rwe"]["rules"]
        top = sorted(rules, key=lambda k: -rules[k]["wall_s"])[:3]
        slowest = ", ".join(f"{k} {_s(rules[k]['wall_s'])} s" for k in top)
        ratio, like = r["rwe"]["wall_s"] / r["r"]["wall_s"], like_for_like_s(r) / r["r"]["wall_s"]
        verdict = "met" if like <= TARGET_RATIO else "missed"
        if _failed(r):
            lines.append(
                f"- n = {r['n']:,}: the workflow did not complete{_failed(r)} (see "
                f"`bench/results/{r['n']}/logs/snakemake.log`); its total is a lower bound."
            )
        lines.append(
            f"- n = {r['n']:,}: rwe/R ≤ {TARGET_RATIO} on the same analyses {verdict} "
            f"({like:.1f}: survival {_s(rules.get('survival', {}).get('wall_s'))} s + response "
            f"{_s(rules.get('response', {}).get('wall_s'))} s vs R {_s(r['r']['wall_s'])} s; "
            f"by CPU time {like_for_like_s(r, 'cpu_s') / r['r']['cpu_s']:.1f}); "
            f"whole workflow / R = {ratio:.1f}, held back by {slowest}."
        )
    big = next((r for r in _analysed(results) if r["n"] == 1_000_000), None)
    if big is None:
        lines.append(
            f"- 1,000,000 patients under {TARGET_1M_S // 60} min and {TARGET_1M_MB // 1024} GB: "
            "not measured in this run (only the cohort generation, if listed above)."
        )
    else:
        w = big["rwe"]
        fast, small = w["wall_s"] <= TARGET_1M_S, w["max_rss_mb"] <= TARGET_1M_MB
        top = max(w["rules"], key=lambda k: w["rules"][k]["wall_s"])
        fat = max(w["rules"], key=lambda k: _memory_mb(w["rules"][k]))
        lines.append(
            f"- 1,000,000 patients in under {TARGET_1M_S // 60} min: "
            f"{_s(w['wall_s'])} s, {'met' if fast else 'missed'} (slowest rule {top}); "
            f"peak memory under {TARGET_1M_MB // 1024} GB: {_mb(w['max_rss_mb'])} MB for the "
            f"largest process, {'met' if small else 'missed'} (largest rule by PSS {fat}, "
            f"{_mb(_memory_mb(w['rules'][fat]))} MB)."
        )
        ok = fast and small
        if not ok and top == "site":
            lines += ["", site_limit(big)]
    return [*lines, ""]


def site_limit(big: dict) -> str:
    """Why the site job bounds the 10^6-patient run, from its measurements and a profile."""
    rules, cohort = big["rwe"]["rules"], big["cohort"]
    site = rules["site"]
    fat = max(rules, key=lambda k: _memory_mb(rules[k]))
    rest = big["rwe"]["wall_s"] - site["wall_s"]
    labs_rows = cohort.get("rows", {}).get("labs.csv")
    labs = f"{labs_rows / 1e6:,.0f} million rows, " if labs_rows else ""
    return (
        f"What holds the 10^6 target back is first the `site` job ({_s(site['wall_s'])} s, "
        f"{_s(site['cpu_s'])} s of CPU on the 2 cores): its laboratory file, {labs}"
        f"{cohort['files']['labs.csv'] / 1e9:.1f} GB, parsed, validated and derived in Python. "
        f"{SITE_PROFILE} The rest of the workflow takes {_s(rest)} s after it: the rules after "
        "pooling share the two cores (their CPU times above add up to more than their wall "
        "time), and pooling and the data cut copy the site's datasets. Memory is within the "
        f"target: {_mb(big['rwe']['max_rss_mb'])} MB for the largest process; by rule, "
        f"{fat} holds the most ({_mb(_memory_mb(rules[fat]))} MB PSS), and the site job "
        f"{_mb(_memory_mb(site))} MB, its laboratory blocks a few million rows each."
    )


#: The site job's phases at 10^6, measured on their own (bench/profile_site.py: a thread
#: sampling the job's main process every 50 ms, an idle machine).
SITE_PROFILE = (
    "Profiled on its own (`bench/profile_site.py bench/data/1000000`: its function calls "
    "outside Snakemake, 2026-12-01 10:15 UTC, an idle machine, 153 s in all): reading labs.csv once in chunks of 2 million rows and writing each "
    "row's codes to its block takes about 33 s on one core (pandas' C reader, and the encoding "
    "check's pass over the file), and the other three files are then read and validated in "
    "about 16 s, the second core idle meanwhile; the 37 blocks take about 72 s on two "
    "processes (validation, ADLB writing, plausibility counts, lab grades, nadirs and the IMWG "
    "response of about 3.5 million rows each, and each block's files appended to the outputs); "
    "ADSL and the other datasets about 11 s. The next steps are to read the other files while "
    "labs.csv is split, and to split it on both cores (by byte ranges). With the blocks "
    "in one process the job took 217 s and 4.3 GB in the workflow; before the blocks (one "
    "table of every lab row) about 280 s and 11 GB, measured on a loaded machine."
)


def agreement_section(results: list[dict]) -> list[str]:
    """R and rwe computed the same numbers (so the timings compare like with like)."""
    cell = lambda a, name, key: f"{a[name][key]:.1e}" if name in a else "–"  # noqa: E731
    rows = [
        [
            f"{r['n']:,}",
            str(a.get("km_medians", {}).get("compared", "–")),
            cell(a, "km_medians", "max_abs_diff"),
            str(a.get("cox", {}).get("compared", "–")),
            cell(a, "cox", "max_abs_diff"),
        ]
        for r in results
        if (a := r.get("agreement"))
    ]
    if not rows:
        return []
    header = [
        "n",
        "KM medians compared",
        "largest R − rwe difference (months)",
        "Cox HRs compared",
        "largest R − rwe difference",
    ]
    return ["## R and rwe agree", "", *_table(header, rows), ""]


def render(machine: dict, results: list[dict], args, rule_cost: dict[str, str]) -> str:
    """The whole document."""
    lines = ["# Benchmarks: rwe beside R's survival package and lifelines", ""]
    if args.preliminary:
        lines += [
            "> **Preliminary.** Measured while other work shared the 2 cores and while the "
            "survival, derive, safety and figure code was changing between (and during) the "
            "sizes' runs, so sizes may have run different code; the final numbers will be "
            "regenerated with `make bench`.",
            "",
        ]
    sizes = " ".join(str(r["n"]) for r in results if "rwe" in r)
    lines += [
        f"Generated by `make bench` (`bench/run.py`) on {machine['date']}. Reproduce with "
        f'`make bench BENCH_SIZES="{sizes}"`; cohorts and raw results land in the git-ignored '
        "`bench/data/` and `bench/results/<n>/` (`measurements.json`, logs, R's tables).",
        "",
        "What is timed, each from outside with `/usr/bin/time -v` (wall time, user+system CPU "
        "time, peak resident memory of the largest process):",
        "",
        f"- **Cohorts**: {args.source_n:,} patients simulated by `rwe simulate --seed {args.seed}`, "
        "then bootstrapped to n patients by `rwe resample` (each drawn patient keeps its "
        f"responses, adverse events and lab rows: {_per_patient(results)}); the one-off "
        "simulation of the source is not in the cohort times.",
        f"- **rwe**: `snakemake --cores {args.cores}` of the whole workflow (every rule, figures "
        "and report included) from an empty results folder; per-rule numbers from Snakemake's "
        "`benchmark:` files.",
        "- **R**: `bench/bench_survival.R` on rwe's `adsl.csv` and `adtte.csv`: survfit, "
        "quantile, summary at landmarks, reverse KM, survdiff, coxph (Efron) with cox.zph and "
        "concordance, binom.test and fisher.test, as an R user would write them. R's time "
        "therefore excludes reading, validating and deriving the raw extract; `read.csv` of "
        f"the four raw files alone is timed for n ≤ {args.r_raw_max:,} below. The like-for-like "
        "ratio compares R with rwe's `survival` + `response` rules (each includes its own "
        "start-up and reading of the ADaM files).",
        f"- **lifelines**: the survival fits only (KaplanMeierFitter, logrank_test, CoxPHFitter "
        f"with concordance and the proportional-hazards test), stopped after {_s(args.lifelines_cap)} s.",
        "- Wall times depend on what else runs on the machine; CPU times are given beside them.",
        "- Peak memory: the summary's is the largest single process (`/usr/bin/time`); the "
        "per-rule one is Snakemake's `max_rss`, summed over the rule's process tree, so it can "
        "exceed the summary's.",
        "",
    ]
    lines += machine_section(machine, results) + summary_section(results, args)
    lines += detail_section(results)
    lines += rules_section(results) + growth_section(results, rule_cost)
    lines += targets_section(results) + agreement_section(results)
    return "\n".join(lines)
