"""The configuration of a run: read, checked against its schema and the data contract.

The workflow (``Snakefile``) and ``rwe check --config`` both go through :func:`check_config`,
so they accept exactly the same configurations and read each site with the same options
(:func:`site_options`). A problem is a :class:`~rwe.exceptions.ConfigError` that lists every
problem found, never a traceback:

- a file that is absent or not YAML (with the line and column of the syntax error);
- a key or value the schema (``workflow/schemas/config.schema.yaml``) refuses;
- a subgroup or Cox covariate that is no column of ADSL (a typo must stop the run, not vanish);
- the same extract folder listed for two sites, or a site folder that does not exist.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

from rwe.exceptions import ConfigError

#: The demo run's config, read when the workflow is given none (relative to the working folder).
DEFAULT_CONFIG = Path("config/config.yaml")
#: The schema of a source checkout (the workflow passes its own).
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: The most characters of one schema message shown (a long value is cut).
MOST_MESSAGE_CHARS = 160


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_config_file(path: str | Path) -> dict:
    """Read a YAML config file.

    Raises
    ------
    ConfigError
        When the file is absent, not UTF-8 YAML (the line and column of the error are named),
        gives a key twice in one mapping, or is not a mapping of keys.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no config file there; give one with --configfile (snakemake) or --config "
            "(rwe check), see config/README.md"
        )
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "is not valid YAML"
        raise ConfigError(
            f"{path}{where}: {problem} (YAML: check the indentation, colons, quotes and brackets)"
        ) from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (sites: …, results_dir: …)")
    return config


def adsl_columns() -> set[str]:
    """Columns of ADSL a subgroup or covariate may name: patients.csv's and the derived flags."""
    from rwe.io import ADSL_FLAGS
    from rwe.validate import contract

    return {f.name for f in contract()["patients"]} | set(ADSL_FLAGS)


def check_config(
    config: dict,
    schema: str | Path | None = SCHEMA,
    source: str = "the config",
    check_sites: bool = True,
) -> dict:
    """Check a config and return it with the schema's defaults filled in.

    Parameters
    ----------
    config : dict
        The config as read (:func:`read_config_file`, or Snakemake's).
    schema : str or pathlib.Path, optional
        The JSON Schema of the config; None (or a path that does not exist, as in an installed
        package without the workflow) skips the schema and keeps the config's own keys.
    source : str
        How messages name the config.
    check_sites : bool
        Check the site folders (each exists, none listed twice); off where the config is
        another machine's (``rwe export-aggregates`` reads the pooled run's).

    Returns
    -------
    dict
        A copy of ``config`` with defaults filled in.

    Raises
    ------
    ConfigError
        Listing every problem: schema violations, subgroups and covariates that are not ADSL
        columns, a folder listed twice, a site folder that does not exist.
    """
    config = copy.deepcopy(config)
    problems = []
    if schema is not None and Path(schema).is_file():
        schema_doc = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
        problems = _schema_problems(config, schema_doc)
        _fill_defaults(config, schema_doc)
    # One pass: the names and folders are checked beside the schema's problems, so that a
    # missing folder is not hidden until a misspelt key is fixed.
    problems += _name_problems(config) + (_site_problems(config) if check_sites else [])
    if problems:
        raise ConfigError(_listing(source, problems))
    return config


def _listing(source: str, problems: list[str]) -> str:
    n = len(problems)
    lines = [f"{source} has {n} problem{'s' if n != 1 else ''}:"]
    return "\n".join(lines + [f"  - {p}" for p in problems])


def _schema_problems(config: dict, schema: dict) -> list[str]:
    import jsonschema
    from jsonschema.exceptions import best_match

    problems = []
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        if error.context:  # oneOf/anyOf: the branch that came closest says what is wrong
            error = best_match(error.context)
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message
        if len(message) > MOST_MESSAGE_CHARS:
            message = message[: MOST_MESSAGE_CHARS - 1] + "…"
        problems.append(f"{key}: {message}")
    return problems


def _fill_defaults(config: dict, schema: dict) -> None:
    """Set every absent key that has a ``default`` in the schema (recursively in mappings)."""
    for key, spec in schema.get("properties", {}).items():
        if key not in config and "default" in spec:
            config[key] = copy.deepcopy(spec["default"])
        if isinstance(config.get(key), dict) and "properties" in spec:
            _fill_defaults(config[key], spec)


def _name_problems(config: dict) -> list[str]:
    known = adsl_columns()
    problems = []
    cox = config.get("cox")
    named = [("subgroups", config.get("subgroups"))]
    named.append(("cox.covariates", cox.get("covariates") if isinstance(cox, dict) else None))
    named.append(
        (
            "primary_comparisons",
            [
                entry.get("variable")
                for entry in config.get("primary_comparisons") or []
                if isinstance(entry, dict)
            ],
        )
    )
    compare = config.get("compare") if isinstance(config.get("compare"), dict) else {}
    named.append(("compare.covariates", compare.get("covariates") or []))
    named.append(("compare.spline_knots", list(compare.get("spline_knots") or {})))
    for key, names in named:
        if not isinstance(names, list):  # the schema says what is wrong with it
            continue
        for name in names:
            if isinstance(name, str) and name not in known:
                close = _closest(name, known)
                hint = f" (did you mean '{close}'?)" if close else ""
                problems.append(f"{key}: '{name}' is not a column of ADSL{hint}")
    return problems


def _closest(name: str, known: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return match[0] if match else None


def site_entry(config: dict, site: str) -> dict:
    """A site's config entry as a mapping (a folder string is ``{path: folder}``)."""
    entry = config["sites"][site]
    return {"path": entry} if isinstance(entry, str) else dict(entry)


def row_level_sites(config: dict) -> list[str]:
    """Sites that send a row-level extract, in the config's order."""
    return [site for site in config["sites"] if "aggregates" not in site_entry(config, site)]


def _site_problems(config: dict) -> list[str]:
    problems = []
    seen: dict[Path, str] = {}
    sites = config.get("sites")
    for site in sites if isinstance(sites, dict) else {}:
        if not isinstance(sites[site], str | dict):  # the schema says what is wrong with it
            continue
        entry = site_entry(config, site)
        folder = entry.get("path", entry.get("aggregates"))
        if not isinstance(folder, str):
            continue
        resolved = Path(folder).resolve()
        if resolved in seen:
            problems.append(
                f"sites.{site}: the folder {folder} is already the folder of site "
                f"'{seen[resolved]}'; each extract is read once (list a site once)"
            )
        seen.setdefault(resolved, site)
        if not resolved.is_dir():
            problems.append(f"sites.{site}: the folder {folder} does not exist")
    return problems


def site_coding(config: dict, site: str, schema: str | Path | None = SCHEMA) -> dict:
    """A row-level site's harmonisation: its own entries over the schema's defaults.

    ``regimen_aliases`` are the shared ones with the site's own added (and overriding).
    """
    defaults = {}
    if schema is not None and Path(schema).is_file():
        spec = yaml.safe_load(Path(schema).read_text(encoding="utf-8"))
        properties = spec["$defs"]["row_level_site"]["properties"]
        defaults = {k: s["default"] for k, s in properties.items() if "default" in s}
    entry = site_entry(config, site)
    coding = {key: copy.deepcopy(entry.get(key, default)) for key, default in defaults.items()}
    coding["regimen_aliases"] = {
        **config.get("regimen_aliases", {}),
        **entry.get("regimen_aliases", {}),
    }
    return coding


def site_options(config: dict, site: str, schema: str | Path | None = SCHEMA) -> dict:
    """Everything the workflow's site job validates a site with (:func:`rwe.validate.check_site`).

    ``folder``, ``coding`` (:func:`site_coding`), ``allow_extra_columns``, ``max_day``,
    ``on_implausible`` (``plausibility.on_implausible``) and ``block_bytes`` (``lab_block_mb``).
    """
    from rwe.blocks import BLOCK_BYTES
    from rwe.validate import DEFAULT_MAX_DAY

    block_mb = config.get("lab_block_mb")
    return {
        "folder": site_entry(config, site)["path"],
        "coding": site_coding(config, site, schema),
        "allow_extra_columns": config.get("allow_extra_columns", False),
        "max_day": config.get("max_day", DEFAULT_MAX_DAY),
        "on_implausible": config.get("plausibility", {}).get("on_implausible", "warn"),
        "block_bytes": round(block_mb * 2**20) if block_mb else BLOCK_BYTES,
    }


def workflow_config(
    config: dict,
    schema: str | Path,
    default: str | Path = DEFAULT_CONFIG,
    given: list[str | Path] | tuple = (),
) -> dict:
    """The config of a workflow run, checked; on a problem, print them all and exit (status 1).

    Parameters
    ----------
    config : dict
        Snakemake's config (from ``--configfile``/``--config``); when empty, ``default`` is read.
    schema : str or pathlib.Path
        The workflow's config schema.
    default : str or pathlib.Path
        The config read when none was given.
    given : list of str or pathlib.Path
        The files of ``--configfile`` (``workflow.overwrite_configfiles``), read again here for
        what Snakemake's reading lets pass: a key given twice.
    """
    try:
        source = "The config given to snakemake"
        for path in given:
            read_config_file(path)
        if not config:
            source = str(default)
            config = read_config_file(default)
        return check_config(config, schema, source)
    except ConfigError as err:
        print(f"rwe: nothing was run. {err}", file=sys.stderr)
        raise SystemExit(1) from None
