"""Aggregate-only sites: the summaries a site sends instead of patient rows, and reading them back.

A hospital that may not send rows runs ``rwe export-aggregates SITE_DIR --site NAME --out OUT``
on its own extract. The extract is validated and derived with the functions the workflow uses
(:func:`rwe.validate.validate_extract`, :func:`rwe.derive.derive_adsl`,
:func:`rwe.derive.derive_adtte`), then four small tables and a manifest are written
(:data:`FORMAT_VERSION` 1):

``cox.csv``
    Per endpoint, model (``univariable``, ``multivariable``) and term: the site's Cox log hazard
    ratio and its variance (R ``coef(fit)``, ``diag(vcov(fit))``; the ties of the conventions,
    complete cases),
    ``n``, ``events``, ``n_dropped`` and ``note`` (why a term is not estimable). The
    multivariable rows are what :func:`rwe.sites.site_meta` pools.
``km_landmarks.csv``
    Per endpoint and landmark month, the whole site's Kaplan–Meier ``n_risk``, ``surv`` and CI
    (R ``summary(survfit, times =)``), with the site's ``n``.
``km_medians.csv``
    Per endpoint: ``n``, ``events``, the KM median and CI (R ``quantile.survfit``) and the
    median follow-up by reverse KM with its CI.
``response.csv``
    One row: patients ``n``, ``n_evaluable``, the best-response counts sCR … PD and NE,
    ``n_not_evaluable`` (NE or blank), ``orr_n`` (sCR–PR) and ``cbr_n`` (sCR–MR), from which
    ORR and CBR and their exact CIs (R ``binom.test``) are recomputed.
``manifest.json``
    ``format``, ``format_version``, ``site``, ``rwe_version``, the ``config`` values used
    (:data:`CONFIG_KEYS`) and the SHA-256 of each table. No patient id, no day, no date.

Small cells: with ``min_cell_count`` k > 0 the tables pass through
:func:`rwe.privacy.suppress_table` (rules ``aggregate_cox`` …) before they are written: every
count 1..k−1 is written ``<k`` and the statistics of a group that small are ``suppressed`` (a
Cox estimate whose model has fewer than k patients or events, a KM median or survival of a site
of fewer than k patients, ORR/CBR counts below k). What that does to the pooled analysis: a
withheld Cox estimate cannot be pooled, so that site is left out of that term's meta-analysis
and counted in ``n_excluded`` (the note names it), exactly as a site where the term is not
estimable; a withheld median, survival or rate is an empty cell of the site's row of
``site_summary`` with a note. Suppression is primary only (as :mod:`rwe.privacy`): a hidden
category count can sometimes be recovered from ``orr_n`` and the other categories.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from rwe import __version__
from rwe import survival_tables as st
from rwe.exceptions import ConfigError
from rwe.privacy import suppress_table
from rwe.response import CATEGORIES, MEASURES, clopper_pearson, response_table
from rwe.survival import resolve_conventions

FORMAT = "rwe-site-aggregates"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Table name -> file in the aggregate folder; the names are the :data:`rwe.privacy.RULES` keys
#: without the ``aggregate_`` prefix.
FILES = {
    "cox": "cox.csv",
    "km_landmarks": "km_landmarks.csv",
    "km_medians": "km_medians.csv",
    "response": "response.csv",
}
#: Config values an aggregate file was computed with; a run pools it only when they equal its own.
CONFIG_KEYS = (
    "covariates",
    "landmarks_months",
    "conf_type",
    "conf_level",
    "gfr_cutoff",
    "pfs_death_events",
    "min_cell_count",
    "ties",
)
#: Config values recorded in manifests only by later versions: what earlier exports used.
CONFIG_KEYS_ADDED = {"ties": "efron"}
COX_COLUMNS = ["endpoint", "model", "term", "log_hr", "variance", "n", "events", "n_dropped"]
COX_COLUMNS += ["note"]
KM_LANDMARK_COLUMNS = ["endpoint", "month", "n", "n_risk", "surv", "ci_lower", "ci_upper", "note"]
KM_MEDIAN_COLUMNS = ["endpoint", "n", "events", "median", "ci_lower", "ci_upper"]
KM_MEDIAN_COLUMNS += ["median_followup", "followup_ci_lower", "followup_ci_upper", "note"]
RESPONSE_COLUMNS = ["n", "n_evaluable", *CATEGORIES, "NE", "n_not_evaluable", "orr_n", "cbr_n"]
#: The estimate columns :func:`cox_estimates` returns (the inputs of :func:`rwe.sites.site_meta`).
ESTIMATE_COLUMNS = ["site", "endpoint", "term", "log_hr", "se", "n", "events", "note"]


class AggregateError(ConfigError):
    """An aggregate folder that cannot be pooled with this run (named site and reason)."""


def aggregate_options(config: Mapping) -> dict:
    """The config values an aggregate file depends on (:data:`CONFIG_KEYS`), from a run's config.

    Parameters
    ----------
    config : mapping
        The workflow configuration with its schema defaults filled in; ``conf_type`` and
        ``ties`` follow its ``conventions`` (:func:`rwe.survival.resolve_conventions`).
    """
    conventions = resolve_conventions(config.get("conventions", "r"), config["km"].get("conf_type"))
    return {
        "covariates": list(config["cox"]["covariates"]),
        "landmarks_months": list(config["km"]["landmarks_months"]),
        "conf_type": conventions.conf_type,
        "ties": conventions.ties,
        "conf_level": config["conf_level"],
        "gfr_cutoff": config["gfr_cutoff"],
        "pfs_death_events": config["pfs_death_events"],
        "min_cell_count": int(config["min_cell_count"]),
    }


# --------------------------------------------------------------------------- the site's tables


def cox_aggregates(
    adsl: pd.DataFrame, adtte: pd.DataFrame, covariates: list[str], ties: str = "efron"
) -> pd.DataFrame:
    """Univariable and multivariable Cox log HR and variance of one site (R ``coxph``).

    Fitted by :func:`rwe.survival_tables.cox_models` on all the site's patients, with its
    conventions (complete cases; a constant covariate dropped, a term with monotone likelihood
    not estimable: ``log_hr`` empty and ``note`` says why).
    """
    rows = []
    for m in st.cox_models(adsl, adtte, {"all": adsl}, covariates, ties=ties):
        for term in m.covariates:
            log_hr = variance = np.nan
            if m.fit is not None and not m.term_notes[term] and term in m.fit.terms:
                j = m.fit.terms.index(term)
                log_hr, variance = float(m.fit.coef[j]), float(m.fit.se[j]) ** 2
            note = "; ".join(n for n in [m.term_notes[term], *m.notes] if n)
            rows.append(
                (m.endpoint, m.model, term, log_hr, variance, m.n, m.events, m.n_dropped, note)
            )
    return pd.DataFrame(rows, columns=COX_COLUMNS)


def km_aggregates(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    landmarks_months: list[float],
    conf_type: str = "log",
    conf_level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The site's Kaplan–Meier landmarks and medians (with median follow-up), per endpoint.

    Returns
    -------
    km_landmarks, km_medians : pandas.DataFrame
        :data:`KM_LANDMARK_COLUMNS` (R ``summary(survfit, times =)``) and
        :data:`KM_MEDIAN_COLUMNS` (R ``quantile.survfit``; follow-up by reverse KM).
    """
    sets = {"all": adsl}
    fits = st.km_fits(adsl, adtte, sets, [], conf_type, conf_level)
    n = {f.endpoint: f.n for f in fits}
    landmarks = st.km_landmark_table(fits, landmarks_months)
    landmarks = landmarks.assign(n=landmarks["endpoint"].map(n))[KM_LANDMARK_COLUMNS]
    medians = st.km_median_table(fits).set_index("endpoint")
    follow = st.followup_table(adsl, adtte, sets, conf_type, conf_level).set_index("endpoint")
    medians = medians.join(
        follow[["median_followup", "ci_lower", "ci_upper"]].rename(
            columns={"ci_lower": "followup_ci_lower", "ci_upper": "followup_ci_upper"}
        )
    )
    return landmarks, medians.reset_index()[KM_MEDIAN_COLUMNS]


def response_aggregates(adsl: pd.DataFrame) -> pd.DataFrame:
    """The site's best-response counts (one row, :data:`RESPONSE_COLUMNS`)."""
    counts = response_table({"all": adsl}, []).iloc[0]
    row = {"n": len(adsl), **{c: int(counts[c]) for c in RESPONSE_COLUMNS[1:-3]}}
    row["n_not_evaluable"] = int(counts["n_not_evaluable"])
    for measure in ("orr", "cbr"):
        row[f"{measure}_n"] = int(sum(int(counts[c]) for c in MEASURES[measure]))
    return pd.DataFrame([row], columns=RESPONSE_COLUMNS)


def site_aggregates(adsl: pd.DataFrame, adtte: pd.DataFrame, options: Mapping) -> dict:
    """Every aggregate table of one site (unsuppressed), by :data:`FILES` name.

    Parameters
    ----------
    adsl, adtte : pandas.DataFrame
        The site's analysis datasets.
    options : mapping
        :func:`aggregate_options`.
    """
    landmarks, medians = km_aggregates(
        adsl, adtte, options["landmarks_months"], options["conf_type"], options["conf_level"]
    )
    return {
        "cox": cox_aggregates(adsl, adtte, list(options["covariates"]), options["ties"]),
        "km_landmarks": landmarks,
        "km_medians": medians,
        "response": response_aggregates(adsl),
    }


def suppress_aggregates(tables: Mapping[str, pd.DataFrame], k: int) -> dict:
    """The tables with :data:`rwe.privacy.RULES` ``aggregate_<name>`` applied for ``k``."""
    return {name: suppress_table(f"aggregate_{name}", frame, k) for name, frame in tables.items()}


# --------------------------------------------------------------------------- export


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_site_aggregates(
    folder: str | Path,
    site: str,
    out: str | Path,
    options: Mapping,
    regimen_aliases: Mapping[str, str] | None = None,
    allow_extra_columns: bool = False,
    coding: Mapping | None = None,
) -> dict:
    """Validate and derive one site's extract and write its aggregate folder.

    As the workflow's ``site`` job: :func:`rwe.validate.validate_extract` (with the site's own
    coding) then :func:`rwe.derive.derive_site`.

    Parameters
    ----------
    folder : str or pathlib.Path
        The site's extract (``patients.csv`` and optional long tables).
    site : str
        The site's name (as the pooled run's config will call it).
    out : str or pathlib.Path
        Folder to write :data:`FILES` and :data:`MANIFEST` to (created).
    options : mapping
        :func:`aggregate_options` of the pooled run's config.
    regimen_aliases, allow_extra_columns
        As :func:`rwe.validate.validate_extract`.
    coding : mapping, optional
        The site's own conventions (``regimen_aliases``, ``response_aliases``, ``sex_aliases``,
        ``lab_units``, ``dates``), as a row-level site entry of the config carries them.

    Returns
    -------
    dict
        The manifest written.

    Raises
    ------
    rwe.exceptions.InputError
        When the extract breaks the input contract; nothing is written.
    """
    # Here, not at the top: the survival rule imports this module for reading aggregates only.
    from rwe.derive import derive_site
    from rwe.io import read_site
    from rwe.validate import validate_extract

    raw, _ = read_site(folder, site)
    typed = validate_extract(
        {site: raw},
        dict(regimen_aliases or {}),
        allow_extra_columns,
        site_options={site: dict(coding or {})},
    )
    del raw
    typed.pop("labs", None)  # not used here (ADLB is the workflow's, for safety tables)
    derived = derive_site(typed, options["gfr_cutoff"], options["pfs_death_events"])
    adsl, adtte = derived["adsl"], derived["adtte"]
    tables = suppress_aggregates(site_aggregates(adsl, adtte, options), options["min_cell_count"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in tables.items():
        frame.to_csv(out / FILES[name], index=False)
        files[FILES[name]] = _sha256(out / FILES[name])
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "site": site,
        "rwe_version": __version__,
        "config": {key: options[key] for key in CONFIG_KEYS},
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# --------------------------------------------------------------------------- reading back


def read_site_aggregates(folder: str | Path, site: str, options: Mapping) -> dict:
    """Read an aggregate folder for a run, after checking that it can be pooled with it.

    Checks the manifest's format and version, that it was exported for ``site``, that every
    config value of :data:`CONFIG_KEYS` equals this run's, and each file's SHA-256.

    Parameters
    ----------
    folder : str or pathlib.Path
        The aggregate folder (the config's ``{aggregates: folder}``).
    site : str
        The site's name in this run's config.
    options : mapping
        :func:`aggregate_options` of this run.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables by :data:`FILES` name, as written (suppressed cells hold text).

    Raises
    ------
    AggregateError
        Naming the site and what does not match.
    """
    folder = Path(folder)

    def fail(message: str) -> AggregateError:
        return AggregateError(f"aggregate site '{site}' ({folder}): {message}")

    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(f"no {MANIFEST} (make the folder with rwe export-aggregates)") from None
    except json.JSONDecodeError as err:
        raise fail(f"{MANIFEST} is not valid JSON ({err.msg})") from None
    if manifest.get("format") != FORMAT:
        raise fail(f"{MANIFEST} is not an rwe aggregate manifest (format {FORMAT!r} expected)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise fail(
            f"format version {manifest.get('format_version')!r}; this rwe reads version "
            f"{FORMAT_VERSION} (re-export with rwe {__version__})"
        )
    if manifest.get("site") != site:
        raise fail(f"exported for site {manifest.get('site')!r}, configured as {site!r}")
    used = manifest.get("config", {})
    used = {**CONFIG_KEYS_ADDED, **used}
    for key in CONFIG_KEYS:
        if key not in used:
            raise fail(f"config value {key} not in the manifest")
        if used[key] != options[key]:
            raise fail(
                f"exported with {key} = {used[key]!r}, this run uses {options[key]!r}: "
                "re-export with this run's config"
            )
    tables = {}
    for name, file in FILES.items():
        path = folder / file
        if not path.is_file():
            raise fail(f"{file} is missing")
        if manifest.get("files", {}).get(file) != _sha256(path):
            raise fail(f"{file} does not match its SHA-256 in {MANIFEST} (changed after export)")
        tables[name] = pd.read_csv(path, dtype={"term": str, "note": str}, keep_default_na=False)
    return tables


def _number(value) -> float:
    """A cell as a number; a suppressed cell (``<k``, ``suppressed``) or a blank is NaN."""
    return float(pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0])


def _withheld(values) -> bool:
    return any(isinstance(v, str) and (v.startswith("<") or v == "suppressed") for v in values)


def cox_estimates(site: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """An aggregate site's multivariable Cox estimates, as :func:`rwe.sites.site_meta` pools them.

    Returns
    -------
    pandas.DataFrame
        :data:`ESTIMATE_COLUMNS`: ``se`` = √variance; a term whose estimate was withheld
        (small cells) or not estimable has no ``log_hr`` and a ``note`` saying why.
    """
    cox = tables["cox"]
    rows = []
    for r in cox[cox["model"] == "multivariable"].to_dict("records"):
        log_hr, variance = _number(r["log_hr"]), _number(r["variance"])
        note = ""
        if _withheld([r["log_hr"], r["variance"]]):
            note = "withheld at the site (fewer patients or events than min_cell_count)"
        elif not (np.isfinite(log_hr) and np.isfinite(variance)):
            note = r["note"] or "no estimate in the site's aggregates"
        rows.append(
            {
                "site": site,
                "endpoint": r["endpoint"],
                "term": r["term"],
                "log_hr": log_hr if not note else np.nan,
                "se": float(np.sqrt(variance)) if not note else np.nan,
                "n": _number(r["n"]),
                "events": _number(r["events"]),
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def summary_row(site: str, tables: Mapping[str, pd.DataFrame], conf_level: float = 0.95) -> dict:
    """An aggregate site's row of :func:`rwe.sites.site_summary`, from its KM and response tables.

    ORR and CBR are recomputed from the counts with their exact CIs (R ``binom.test``); a value
    withheld at the site is empty and the note says so.
    """
    row: dict = {"site": site}
    medians = tables["km_medians"].set_index("endpoint")
    withheld = []
    for endpoint in st.ENDPOINTS:
        r = medians.loc[endpoint]
        prefix = endpoint.lower()
        for column in ("events", "median", "ci_lower", "ci_upper"):
            row[f"{prefix}_{column}"] = _number(r[column])
        if _withheld(r[["events", "median"]]):
            withheld.append(f"{endpoint} median")
        if endpoint == "OS":
            for column in ("median_followup", "followup_ci_lower", "followup_ci_upper"):
                row[column] = _number(r[column])
    response = tables["response"].iloc[0]
    row["n"] = _number(response["n"])
    n = _number(response["n_evaluable"])
    row["n_evaluable"] = n
    for measure in ("orr", "cbr"):
        x = _number(response[f"{measure}_n"])
        known = np.isfinite(x) and np.isfinite(n) and n > 0
        lower, upper = clopper_pearson(int(x), int(n), conf_level) if known else (np.nan,) * 2
        row |= {measure: x / n if known else np.nan}
        row |= {f"{measure}_ci_lower": lower, f"{measure}_ci_upper": upper}
        if _withheld([response[f"{measure}_n"], response["n_evaluable"]]):
            withheld.append(measure.upper())
    if _withheld([response["n"]]):
        withheld.insert(0, "n")
    note = "aggregate-only site"
    if withheld:
        note += f"; withheld at the site (small cells): {', '.join(withheld)}"
    row["note"] = note
    return row
