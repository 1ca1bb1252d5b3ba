"""Command line: ``rwe simulate``, ``rwe resample``, ``rwe check``, ``rwe export-aggregates``.

``resample`` bootstraps a larger extract; ``export-aggregates`` writes an aggregate-only site's
summaries (rwe.aggregates).
"""

from __future__ import annotations

import argparse
import sys

from rwe.exceptions import InputError


def _simulate(args: argparse.Namespace) -> int:
    from rwe.simulate import simulate_study

    names = args.site_names.split(",") if args.site_names else None
    codings = None
    if args.codings:
        codings = [[] if c in ("", "none") else c.split("+") for c in args.codings.split(",")]
    try:
        written = simulate_study(args.n, args.seed, args.sites, args.out, names, codings)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    for site, files in written.items():
        print(f"{site}: {', '.join(str(f) for f in files)}")
    return 0


def _resample(args: argparse.Namespace) -> int:
    """Bootstrap ``--n`` patients from the extract in ``src`` (see rwe.simulate.resample_site).

    Every file is read as text and copied verbatim apart from the new patient ids, so the
    output has exactly the source's values and formats.
    """
    from pathlib import Path

    import pandas as pd

    from rwe.simulate import write_resampled_site

    src = Path(args.src)
    tables = {
        stem: pd.read_csv(src / f"{stem}.csv", dtype=str, keep_default_na=False)
        for stem in ("patients", "responses", "adverse_events", "labs")
        if stem == "patients" or (src / f"{stem}.csv").is_file()
    }
    written = write_resampled_site(tables, args.n, args.seed, args.out, site=args.site)
    print(f"{args.site}: {', '.join(str(f) for f in written)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Validate site extracts exactly as the workflow's site jobs do (rwe.validate.check_site).

    With ``--config`` (or, without a folder, ``config/config.yaml`` as the workflow reads it),
    the config is checked as the workflow checks it and every row-level site (or ``--site``)
    is read with the options its site job gets (rwe.config.site_options): aliases, units,
    dates, ``allow_extra_columns``, ``max_day``. A folder alone is checked with the defaults.
    """
    from rwe import config as rwe_config
    from rwe.exceptions import ConfigError
    from rwe.plausibility import implausible
    from rwe.validate import check_site

    try:
        if args.folder and args.config:
            raise ConfigError("give a site folder or --config, not both")
        if args.folder:
            config = {"sites": {args.site or "site": args.folder}}
            config["allow_extra_columns"] = args.allow_extra_columns
            config = rwe_config.check_config(config, source="the extract")
        else:
            path = args.config or rwe_config.DEFAULT_CONFIG
            config = rwe_config.check_config(rwe_config.read_config_file(path), source=str(path))
            if args.allow_extra_columns:
                config["allow_extra_columns"] = True
        sites = rwe_config.row_level_sites(config)
        if args.site and args.site not in sites:
            known = ", ".join(sites) or "none"
            raise ConfigError(f"site '{args.site}' is not a row-level site of the config ({known})")
    except ConfigError as err:
        print(f"rwe check: {err}", file=sys.stderr)
        return 2
    if args.config_only:
        print(f"OK: the config names {len(config['sites'])} site(s); every key is valid.")
        return 0
    if not args.site:
        for site in config["sites"]:
            if site not in sites:
                print(
                    f"{site}: aggregate-only, nothing to check here (the run checks its manifest)"
                )
    failed = 0
    for site in [args.site] if args.site else sites:
        options = rwe_config.site_options(config, site)
        try:
            # Block by block, as the site job reads a large laboratory file; not held.
            typed, inputs, findings = check_site(
                options.pop("folder"), site, **options, keep_labs=False
            )
        except InputError as err:
            print(f"Site '{site}': {err}", file=sys.stderr)
            failed += 1
            continue
        for item in inputs:
            print(f"{item['site']}/{item['file']}: {item['rows']} rows ({item['format']})")
        print(f"OK: {len(typed['patients'])} patients of site '{site}' pass the input contract.")
        for f in implausible(findings).itertuples():
            print(
                f"implausible: {f.file}, column {f.column}: {f.check} on {f.n_rows} rows ({f.note})"
            )
    return 1 if failed else 0


def _export_aggregates(args: argparse.Namespace) -> int:
    """Write a site's aggregate folder (rwe.aggregates) with the pooled run's config values."""
    from rwe import config as rwe_config
    from rwe.aggregates import aggregate_options, export_site_aggregates
    from rwe.exceptions import RweError

    try:
        # The pooled run's config, checked as the workflow checks it (its defaults filled in);
        # its site folders are the pooled run's, not this machine's.
        config = rwe_config.read_config_file(args.config)
        config = rwe_config.check_config(config, source=args.config, check_sites=False)
        manifest = export_site_aggregates(
            args.site_dir,
            args.site,
            args.out,
            aggregate_options(config),
            config.get("regimen_aliases", {}),
            config.get("allow_extra_columns", False),
            rwe_config.read_config_file(args.coding) if args.coding else None,
        )
    except (RweError, KeyError) as err:
        print(f"nothing written: {err}", file=sys.stderr)
        return 1
    print(f"{args.site}: {', '.join(manifest['files'])} and manifest.json written to {args.out}")
    return 0


#: What ``rwe --help`` says (plain text: argparse prints it as it is).
DESCRIPTION = (
    "rwe: real-world-evidence pipeline for multiple myeloma. The analysis itself runs with "
    "snakemake (see README.md); these commands simulate, resample and check site extracts and "
    "export an aggregate-only site's summaries."
)


def version() -> str:
    """The installed rwe version (``unknown`` when rwe is imported from a checkout only)."""
    from importlib import metadata

    try:
        return metadata.version("rwe")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``rwe`` argument parser."""
    parser = argparse.ArgumentParser(prog="rwe", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"rwe {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="write a synthetic site extract (or several)")
    sim.add_argument("out", help="output folder (one subfolder per site when --sites > 1)")
    sim.add_argument("--n", type=int, default=126, help="patients in all (default 126)")
    sim.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    sim.add_argument("--sites", type=int, default=1, help="number of sites (default 1)")
    sim.add_argument(
        "--site-names",
        help="comma-separated site names (in the patient ids); name:folder writes a site to "
        "another subfolder (default demo, or site1, site2 …)",
    )
    sim.add_argument(
        "--codings",
        help="per site (comma-separated, in --site-names order) its coding conventions joined "
        "by '+', or none: regimen_codes (IRd, IPd …), sex_numeric (1/2), response_words, "
        "hgb_g_100ml, dates (start_date and date columns), delayed_entry (adds entry_day: "
        "some patients observed from after day 0); see rwe.simulate.SITE_CODINGS",
    )
    sim.set_defaults(func=_simulate)
    res = sub.add_parser(
        "resample",
        help="bootstrap a site extract of --n patients from another (with replacement)",
    )
    res.add_argument("src", help="folder of the source extract (patients.csv and long tables)")
    res.add_argument("out", help="output folder")
    res.add_argument("--n", type=int, required=True, help="patients to draw")
    res.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    res.add_argument("--site", default="boot", help="site name in the new ids (default boot)")
    res.set_defaults(func=_resample)
    check = sub.add_parser(
        "check",
        help="validate site extracts exactly as a workflow run with the same config does",
    )
    check.add_argument(
        "folder",
        nargs="?",
        help="one site's folder, checked with the default options (without --config)",
    )
    check.add_argument(
        "--config",
        help="the run's config: every row-level site is checked with its options (default "
        "config/config.yaml when no folder is given)",
    )
    check.add_argument("--site", help="check this site of the config only (or name the folder)")
    check.add_argument(
        "--config-only",
        action="store_true",
        help="check the config as the workflow does (keys, site folders, covariates) and not "
        "the extracts (`make run` does this before Snakemake reads the config)",
    )
    check.add_argument(
        "--allow-extra-columns",
        action="store_true",
        help="accept and ignore columns that are not in the input contract, as the config key "
        "allow_extra_columns does (identifier-like and date columns are refused regardless)",
    )
    check.set_defaults(func=_check)
    agg = sub.add_parser(
        "export-aggregates",
        help="write a site's aggregate-only summaries (no patient rows) for a pooled run",
    )
    agg.add_argument("site_dir", help="the site's extract folder")
    agg.add_argument("--site", required=True, help="site name, as the pooled run's config has it")
    agg.add_argument("--out", required=True, help="folder for the aggregate files")
    agg.add_argument(
        "--config",
        default="config/config.yaml",
        help="the pooled run's config (covariates, landmarks, min_cell_count …; default "
        "config/config.yaml)",
    )
    agg.add_argument(
        "--coding",
        help="YAML file of the site's own coding (regimen_aliases, response_aliases, "
        "sex_aliases, lab_units, dates), as a row-level site entry of the config carries it",
    )
    agg.set_defaults(func=_export_aggregates)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``rwe`` command line."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
