"""Analysis datasets (ADSL, ADRS, ADTTE, ADAE, ADLB) derived from validated site extracts.

Each flag and endpoint rule of DESIGN.md §4 is one function with a verb name, in the manner
of pharmaverse admiral: ``derive_<flag>(adsl) -> Series``. Flags are pandas nullable integers:
1, 0, or missing when the inputs needed to decide are missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rwe.endpoints import pfs_paramcd, pfs_sensitivity_rules

DAYS_PER_MONTH = 30.4375
RESPONSE_RANK = {"sCR": 0, "CR": 1, "VGPR": 2, "PR": 3, "MR": 4, "SD": 5, "PD": 6}
RESPONDER = ("sCR", "CR", "VGPR", "PR")
IMID_REGIMENS = ("Ixa-Rd", "Ixa-Pd", "Ixa-Td")
PFS_DEATH_EVENTS = ("all", "myeloma", "none")
KEYS = ["site", "patient_id"]


def _int(values) -> pd.Series:
    return pd.Series(values).astype("Int64")


def derive_triple_class_refractory(adsl: pd.DataFrame) -> pd.Series:
    """1 if refractory to an IMiD, a proteasome inhibitor and an anti-CD38 antibody."""
    cols = ["refractory_imid", "refractory_pi", "refractory_cd38"]
    return (adsl[cols] == 1).all(axis=1).astype("Int64").where(adsl[cols].notna().all(axis=1))


def derive_high_risk_cyto(adsl: pd.DataFrame) -> pd.Series:
    """1 if any of del(17p), t(4;14), gain(1q21) is 1; 0 if all three tested and 0; else missing."""
    cols = ["del17p", "t4_14", "gain1q21"]
    # Comparisons with a missing value are missing: count them as "not shown", so an untested
    # marker can neither make a patient high risk nor standard risk.
    any_high = (adsl[cols] == 1).fillna(False).astype(bool).any(axis=1)
    all_normal = (adsl[cols] == 0).fillna(False).astype(bool).all(axis=1)
    out = pd.Series(pd.NA, index=adsl.index, dtype="Int64")
    out[any_high] = 1
    out[all_normal] = 0
    return out


def derive_gfr_le70(adsl: pd.DataFrame, cutoff: float = 70) -> pd.Series:
    """1 if GFR ≤ ``cutoff`` mL/min/1.73 m² (default 70), 0 above, missing if not measured."""
    return (adsl["gfr"] <= cutoff).astype("Int64").where(adsl["gfr"].notna())


def derive_age_ge80(adsl: pd.DataFrame) -> pd.Series:
    """1 if age at day 0 is 80 or more (ages are top-coded at 90)."""
    return (adsl["age"] >= 80).astype("Int64").where(adsl["age"].notna())


def derive_second_line(adsl: pd.DataFrame) -> pd.Series:
    """1 if exactly one prior line of therapy (ixazomib given in second line)."""
    return (adsl["prior_lines"] == 1).astype("Int64").where(adsl["prior_lines"].notna())


def derive_more_than_3_lines(adsl: pd.DataFrame) -> pd.Series:
    """1 if more than three prior lines of therapy."""
    return (adsl["prior_lines"] > 3).astype("Int64").where(adsl["prior_lines"].notna())


def derive_imid_containing(adsl: pd.DataFrame) -> pd.Series:
    """1 if the regimen contains an IMiD (Ixa-Rd, Ixa-Pd, Ixa-Td)."""
    return adsl["regimen"].isin(IMID_REGIMENS).astype("Int64").where(adsl["regimen"].notna())


def derive_responder(best_response: pd.Series) -> pd.Series:
    """1 if best response is PR or better, 0 if MR, SD or PD, missing if NE or blank."""
    out = best_response.isin(RESPONDER).astype("Int64")
    return out.where(best_response.isin(list(RESPONSE_RANK)))


def compute_best_response(responses: pd.DataFrame) -> pd.DataFrame:
    """Best overall response from serial IMWG assessments (Kumar et al., Lancet Oncol 2016).

    A response category (MR or better) counts when two consecutive assessments are both at
    least that good (confirmation); the best confirmed category from day 0 until the first
    progression is the best response. Stable disease needs no confirmation. A patient with no
    confirmed response or SD whose assessments show PD has best response PD; a patient with
    only unconfirmed responses has SD; with no usable assessment, NE.

    Parameters
    ----------
    responses : pandas.DataFrame
        Columns ``site``, ``patient_id``, ``day``, ``response``.

    Returns
    -------
    pandas.DataFrame
        ``site``, ``patient_id``, ``best_response``, ``n_assessments``,
        ``first_response_day`` (first assessment at PR or better, for responders: the start of
        the duration of response) and ``response_confirmed_day`` (the assessment that first
        confirms PR or better: the second of the first two consecutive assessments at PR or
        better before progression, the day the response became known).
    """
    # Vectorised over all assessments (one pass, no per-patient loop), on the codes of the key
    # and response columns: no copy of the table (a 10^6-patient site sends ~10^7 assessments).
    # Within a patient, assessments are in day order (pandas' sort of the day column, so ties
    # keep the order they have always had).
    from rwe.safety import key_codes

    order = responses["day"].reset_index(drop=True).sort_values().index.to_numpy()
    (site, _), (patient, ids) = (key_codes(responses[k]) for k in KEYS)
    order = order[(site[order] >= 0) & (patient[order] >= 0)]
    # Patients numbered in order of first appearance in day order, assessments grouped by them.
    group = pd.factorize(site[order].astype(np.int64) * (len(ids) + 1) + patient[order])[0]
    n_groups = int(group.max()) + 1 if len(group) else 0
    by_patient = np.argsort(group, kind="stable")
    group, rows = group[by_patient], order[by_patient]
    del order, by_patient
    codes, categories = key_codes(responses["response"])
    codes = codes[rows]
    per_category = pd.Series(categories.astype(object))
    rank = np.append(per_category.map(RESPONSE_RANK).to_numpy(dtype=float), np.nan)[codes]
    day = responses["day"].to_numpy(dtype=float, na_value=np.nan)[rows]

    def per_patient(values, mask, how, fill):
        """Reduce ``values[mask]`` per patient (``fill`` for a patient with no such value)."""
        series = pd.Series(values[mask]).groupby(group[mask])
        return series.agg(how).reindex(range(n_groups), fill_value=fill).to_numpy()

    # Usable assessments (NE dropped), in order; "before PD" is the prefix before the first PD.
    usable = ~np.isnan(rank)
    u_rank, u_group = rank[usable], group[usable]
    is_pd = u_rank == RESPONSE_RANK["PD"]
    # Assessments are grouped by patient: those before the patient's first PD.
    first_pd = np.full(n_groups, len(u_rank))
    with_pd, at = np.unique(u_group[is_pd], return_index=True)
    first_pd[with_pd] = np.flatnonzero(is_pd)[at]
    before_pd = np.arange(len(u_rank)) < first_pd[u_group]
    # Confirmation: two consecutive usable assessments before PD, the worse of the two counts.
    pair = np.zeros(len(u_rank), dtype=bool)
    pair[1:] = before_pd[1:] & (u_group[1:] == u_group[:-1])
    pair_rank = np.full(len(u_rank), np.inf)
    pair_rank[1:] = np.maximum(u_rank[1:], u_rank[:-1])
    confirmed = pair & (pair_rank <= RESPONSE_RANK["MR"])
    best_confirmed = np.full(n_groups, np.inf)
    np.minimum.at(best_confirmed, u_group[confirmed], pair_rank[confirmed])
    any_before_pd = np.zeros(n_groups, dtype=bool)
    any_before_pd[u_group[before_pd]] = True
    any_pd = np.zeros(n_groups, dtype=bool)
    any_pd[u_group[is_pd]] = True
    best = np.where(
        np.isfinite(best_confirmed),
        best_confirmed,
        np.where(any_before_pd, RESPONSE_RANK["SD"], np.where(any_pd, RESPONSE_RANK["PD"], -1)),
    )
    label_of = {v: k for k, v in RESPONSE_RANK.items()}
    labels = np.array([label_of.get(int(b), "NE") for b in best], dtype=object)
    n_assessments = np.bincount(group, minlength=n_groups)
    responded = np.append(per_category.isin(RESPONDER).to_numpy(), False)[codes]
    responded &= ~np.isnan(day)
    first = per_patient(day, responded, "min", np.nan)
    is_responder = pd.Series(labels).isin(RESPONDER).to_numpy()
    first = np.where(is_responder, first, np.nan)
    # The day a response became known: the later assessment of the first confirming pair.
    confirms = confirmed & (pair_rank <= RESPONSE_RANK["PR"])
    u_day = day[usable]
    confirmation = np.full(n_groups, np.inf)
    np.minimum.at(confirmation, u_group[confirms], u_day[confirms])
    confirmation = np.where(is_responder & np.isfinite(confirmation), confirmation, np.nan)
    # Each patient's keys from its first assessment.
    firsts = rows[np.flatnonzero(np.diff(group, prepend=-1))]
    return pd.DataFrame(
        {
            "site": responses["site"].iloc[firsts].to_numpy(),
            "patient_id": responses["patient_id"].iloc[firsts].to_numpy(),
            "best_response": labels,
            "n_assessments": n_assessments,
            "first_response_day": first,
            "response_confirmed_day": confirmation,
        }
    )


def derive_adsl(
    patients: pd.DataFrame,
    responses: pd.DataFrame | None = None,
    gfr_cutoff: float = 70,
    lab_response: pd.DataFrame | None = None,
    response_source: str = "recorded",
) -> pd.DataFrame:
    """Subject-level analysis dataset: one row per patient with every DESIGN.md §4 flag.

    Parameters
    ----------
    patients : pandas.DataFrame
        Validated ``patients.csv`` of all sites (typed, regimen aliases applied).
    responses : pandas.DataFrame, optional
        Validated ``responses.csv`` of the sites that sent one; for those sites best response
        is derived from it (:func:`compute_best_response`) and patients without assessments
        are NE. Other sites keep the ``best_response`` column of ``patients.csv``.
    gfr_cutoff : float
        Threshold of ``gfr_le70``.
    lab_response : pandas.DataFrame, optional
        Best response derived from the laboratory values (:func:`rwe.imwg.patient_response`).
    response_source : {"recorded", "derived"}
        Which best response drives ``best_response`` and ``responder``
        (:func:`rwe.imwg.select_best_response`; both are kept).

    Returns
    -------
    pandas.DataFrame
        The patients' columns plus ``best_response_source``, the recorded and derived best
        responses and the flags.
    """
    adsl = patients.drop(columns=["_row"], errors="ignore").copy()
    if "best_response" not in adsl.columns:
        adsl["best_response"] = pd.Series(pd.NA, index=adsl.index, dtype=object)
    adsl["best_response_source"] = "patients.csv"
    if responses is not None and len(responses):
        # Per site: a site that sent responses.csv has best response derived from it, and its
        # patients without any assessment are NE.
        computed = compute_best_response(responses).set_index(KEYS)
        idx = pd.MultiIndex.from_frame(adsl[KEYS])
        derived = pd.Series(
            computed["best_response"].reindex(idx).to_numpy(), index=adsl.index
        ).fillna("NE")
        from_responses = adsl["site"].isin(set(responses["site"]))
        adsl["best_response_reported"] = adsl["best_response"]
        adsl["best_response"] = adsl["best_response"].where(~from_responses, derived)
        adsl.loc[from_responses, "best_response_source"] = "responses.csv"
        first = computed["first_response_day"].reindex(idx).to_numpy()
        adsl["first_response_day"] = pd.array(first, dtype="Int64")
        confirmation = computed["response_confirmed_day"].reindex(idx).to_numpy()
        adsl["response_confirmed_day"] = pd.array(confirmation, dtype="Int64")
    from rwe.imwg import select_best_response  # imwg builds on this module's constants

    adsl = select_best_response(
        adsl, lab_response if lab_response is not None else pd.DataFrame(), response_source
    )
    adsl["triple_class_refractory"] = derive_triple_class_refractory(adsl)
    adsl["high_risk_cyto"] = derive_high_risk_cyto(adsl)
    adsl["gfr_le70"] = derive_gfr_le70(adsl, gfr_cutoff)
    adsl["age_ge80"] = derive_age_ge80(adsl)
    adsl["second_line"] = derive_second_line(adsl)
    adsl["more_than_3_lines"] = derive_more_than_3_lines(adsl)
    adsl["imid_containing"] = derive_imid_containing(adsl)
    adsl["responder"] = derive_responder(adsl["best_response"])
    return adsl


def derive_adrs(adsl: pd.DataFrame) -> pd.DataFrame:
    """Response analysis dataset: best overall response (PARAMCD ``BOR``) per patient."""
    return pd.DataFrame(
        {
            "site": adsl["site"],
            "patient_id": adsl["patient_id"],
            "paramcd": "BOR",
            "avalc": adsl["best_response"],
            "source": adsl["best_response_source"],
        }
    )


def derive_os(adsl: pd.DataFrame) -> pd.DataFrame:
    """Overall survival: day 0 to death from any cause; censored at last follow-up."""
    died = adsl["death_day"].notna()
    days = adsl["death_day"].where(died, adsl["last_followup_day"])
    return _tte(adsl, "OS", days, (~died).astype(int))


def derive_pfs(adsl: pd.DataFrame, death_events: str = "all", paramcd: str = "PFS") -> pd.DataFrame:
    """Progression-free survival: day 0 to progression or death.

    Parameters
    ----------
    adsl : pandas.DataFrame
    death_events : {"all", "myeloma", "none"}
        Which deaths without prior progression are events. ``all`` (IMWG/FDA convention):
        every death. ``myeloma``: deaths from myeloma or of unknown cause; deaths from other
        causes are censored at the day of death (Zhou et al.). ``none``: every death is censored
        at its day.
    paramcd : str
        PARAMCD of the rows (``PFS`` for the primary definition; :mod:`rwe.endpoints`).

    Returns
    -------
    pandas.DataFrame
        ADTTE rows with PARAMCD ``paramcd``. Patients without an event are censored at
        ``last_assessment_day`` (or ``last_followup_day`` when blank).
    """
    if death_events not in PFS_DEATH_EVENTS:
        raise ValueError(
            f"pfs_death_events must be one of {PFS_DEATH_EVENTS}, not {death_events!r}"
        )
    progressed = adsl["progression_day"].notna()
    died = adsl["death_day"].notna() & ~progressed
    if death_events == "all":
        death_is_event = died
    elif death_events == "myeloma":
        cause = adsl["death_cause"].astype(object).fillna("unknown")  # also a categorical column
        death_is_event = died & cause.isin(["myeloma", "unknown"])
    else:
        death_is_event = pd.Series(False, index=adsl.index)
    death_is_event = death_is_event.astype(bool)
    censor_day = adsl["last_assessment_day"].fillna(adsl["last_followup_day"])
    days = censor_day.where(~died, adsl["death_day"])
    days = days.where(~progressed, adsl["progression_day"])
    event = progressed | death_is_event
    return _tte(adsl, paramcd, days, (~event).astype(int))


def _tte(adsl: pd.DataFrame, paramcd: str, days: pd.Series, cnsr: pd.Series) -> pd.DataFrame:
    days = days.astype("Int64")
    tte = pd.DataFrame(
        {
            "site": adsl["site"],
            "patient_id": adsl["patient_id"],
            "paramcd": paramcd,
            "aval": days.astype(float) / DAYS_PER_MONTH,
            "aval_days": days,
            "cnsr": cnsr.astype("Int64"),
        }
    )
    return with_entry(tte, adsl)


#: ADTTE's delayed-entry columns (only when ``patients.csv`` has ``entry_day``): the start of
#: each patient's observation in months and in days; the risk interval is (entry, aval].
ENTRY_COLUMNS = ("entry", "entry_days")


def with_entry(tte: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Add ``entry`` (months) and ``entry_days`` to ADTTE rows when ADSL has ``entry_day``.

    Delayed entry (left truncation): a patient referred after day 0 is observed, and so at
    risk, from ``entry_day`` on. Without the column nothing is added (entry at day 0 for all),
    so the datasets of an extract without it are unchanged. A blank ``entry_day`` (a pooled
    site that sent none) is day 0.
    """
    if "entry_day" not in adsl.columns:
        return tte
    days = pd.array(adsl["entry_day"], dtype="Int64").fillna(0)
    tte["entry"] = days.astype(float) / DAYS_PER_MONTH
    tte["entry_days"] = days
    return tte


def derive_adtte(adsl: pd.DataFrame, pfs_death_events: str = "all") -> pd.DataFrame:
    """Time-to-event dataset: one row per patient and endpoint, ``aval`` in months.

    PARAMCD ``PFS`` (primary: deaths counted as ``pfs_death_events`` says), ``OS``, then PFS
    under each sensitivity rule (:func:`rwe.endpoints.pfs_sensitivity_rules`: ``PFSALL``,
    death from any cause, and/or ``PFSMYE``, the published study's rule).
    """
    sensitivity = [
        derive_pfs(adsl, rule, pfs_paramcd(rule, pfs_death_events))
        for rule in pfs_sensitivity_rules(pfs_death_events)
    ]
    return pd.concat(
        [derive_pfs(adsl, pfs_death_events), derive_os(adsl), *sensitivity], ignore_index=True
    )


def analysis_sets(adsl: pd.DataFrame, min_regimen_n: int = 20) -> dict[str, pd.DataFrame]:
    """Analysis sets: ``all``, then each regimen with more than ``min_regimen_n`` patients.

    Regimens are ordered by size (largest first), then name.
    """
    sets = {"all": adsl}
    counts = adsl["regimen"].value_counts()
    big = counts[counts > min_regimen_n]
    for regimen in sorted(big.index, key=lambda r: (-big[r], r)):
        sets[regimen] = adsl[adsl["regimen"] == regimen]
    return sets


def subgroup_levels(data: pd.DataFrame, subgroups: list[str]):
    """The groups every subgroup analysis reports: the whole set, then each flag's levels.

    Yields ``(variable, level, subset, n_missing)``: ``("all", "all", data, 0)`` first, then
    for each flag present in ``data`` its levels ``"0"`` and ``"1"`` among patients whose flag
    is known, with the number whose flag is missing (left out, and counted).
    """
    yield "all", "all", data, 0
    for var in subgroups:
        if var not in data.columns:
            continue
        flag = data[var]
        known = flag.notna().to_numpy(dtype=bool)
        n_missing = len(data) - int(known.sum())
        for level in (0, 1):
            # One selection per level (no intermediate copy of the patients with a known flag).
            yield (
                var,
                str(level),
                data[known & (flag == level).to_numpy(dtype=bool, na_value=False)],
                n_missing,
            )


#: The step of the attrition table that counts the patients with delayed entry (only when
#: ``patients.csv`` has ``entry_day``); the report's methods read it.
DELAYED_ENTRY_STEP = "delayed entry"


#: Its reason (no count: how many entered late would escape small-cell suppression here).
DELAYED_ENTRY_REASON = (
    "entry_day given: each patient at risk from entry (left truncation); none left out"
)


def attrition(
    adsl: pd.DataFrame, adtte: pd.DataFrame, flags: list[str], covariates: list[str]
) -> pd.DataFrame:
    """CONSORT-style counts: who is in each analysis and why the others are not.

    Parameters
    ----------
    adsl, adtte : pandas.DataFrame
    flags : list of str
        Subgroup flags; a patient whose flag is missing is left out of that comparison.
    covariates : list of str
        Covariates of the multivariable Cox model (complete-case analysis).

    Returns
    -------
    pandas.DataFrame
        ``step, n_in, n_excluded, reason, n_out``.
    """
    n = len(adsl)
    rows = [("patients in the extract", n, 0, "", n)]
    not_evaluable = (~adsl["best_response"].isin(list(RESPONSE_RANK))).sum()
    rows.append(
        (
            "response analysis",
            n,
            int(not_evaluable),
            "best response not evaluable (NE or blank)",
            n - int(not_evaluable),
        )
    )
    for endpoint in ("PFS", "OS"):
        tte = adtte[adtte["paramcd"] == endpoint]
        missing = int(tte["aval"].isna().sum())
        rows.append(
            (f"{endpoint} analysis", n, missing, "no usable time" if missing else "", n - missing)
        )
    if "entry_day" in adsl.columns:
        rows.append((DELAYED_ENTRY_STEP, n, 0, DELAYED_ENTRY_REASON, n))
    for flag in dict.fromkeys([*flags, *covariates]):
        if flag not in adsl.columns:
            continue
        missing = int(adsl[flag].isna().sum())
        rows.append(
            (f"subgroup {flag}", n, missing, f"{flag} not known" if missing else "", n - missing)
        )
    present = [c for c in covariates if c in adsl.columns]
    if present:
        complete = int(adsl[present].notna().all(axis=1).sum())
        rows.append(
            (
                "multivariable Cox (complete cases)",
                n,
                n - complete,
                "a covariate is missing" if complete < n else "",
                complete,
            )
        )
    return pd.DataFrame(rows, columns=["step", "n_in", "n_excluded", "reason", "n_out"])


def data_quality(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Missingness of every column of every file, per site.

    Returns
    -------
    pandas.DataFrame
        ``file, column, n, n_missing, percent_missing``; ``file`` is ``<site>/<name>.csv``.
    """
    rows = []
    for stem, table in tables.items():
        codes, sites = pd.factorize(table["site"])  # in order of appearance
        for i, site in enumerate(sites):
            # A mask, not a copy of each site's rows (the laboratory table is large).
            in_site = slice(None) if len(sites) == 1 else codes == i
            n = len(table) if len(sites) == 1 else int(in_site.sum())
            for col in table.columns:
                if col in ("site", "_row"):
                    continue
                n_missing = int(table[col].isna().to_numpy()[in_site].sum())
                rows.append(
                    (
                        f"{site}/{stem}.csv",
                        col,
                        n,
                        n_missing,
                        100.0 * n_missing / n if n else np.nan,
                    )
                )
    return pd.DataFrame(rows, columns=["file", "column", "n", "n_missing", "percent_missing"])


#: What :func:`derive_lab_block` writes of each laboratory block, in this order.
LAB_BLOCK_OUTPUTS = ("adlb", "lab_grades", "nadirs", "adrs_derived")


def derive_lab_block(
    labs: pd.DataFrame,
    response_labs: pd.DataFrame,
    block: int,
    folder: str | Path,
    windows: pd.DataFrame,
    imwg_criteria: str = "2016",
    imwg_confirmations: int = 2,
) -> pd.DataFrame:
    """Everything the site job derives from one validated block of whole patients' labs.

    Writes ``<folder>/<name>.<block>.csv`` for each of :data:`LAB_BLOCK_OUTPUTS`: ADLB
    (:func:`derive_adlb`), the worst lab-based CTCAE grades and what was counted out
    (:func:`rwe.safety.lab_toxicity`) and the nadirs, both within each patient's window
    (the treatment-emergent window) with the implausible values left out
    (:func:`rwe.safety.patient_nadirs`), and the IMWG response of every assessment, confirmed
    (:func:`rwe.imwg.derive_adrs_imwg`). Each is per row or per patient, so the blocks' files
    one after the other are those of the whole file (:func:`rwe.io.concatenate_csv`).

    Parameters
    ----------
    labs, response_labs : pandas.DataFrame
        A validated block and its response tests (:meth:`rwe.validate.SiteCheck.lab_blocks`).
    block : int
        The block's number (in the file names).
    folder : str or pathlib.Path
        Where the block's files go.
    windows : pandas.DataFrame
        The nadir (treatment-emergent) windows of the site's patients
        (:func:`rwe.safety.nadir_windows`).
    imwg_criteria, imwg_confirmations
        As in :func:`rwe.imwg.derive_adrs_imwg`.

    Returns
    -------
    pandas.DataFrame
        The block's patients' best response from the labs (:func:`rwe.imwg.patient_response`),
        for ADSL.
    """
    from rwe import imwg, plausibility, safety
    from rwe.io import write_table

    def path(name: str) -> Path:
        return Path(folder) / f"{name}.{block}.csv"

    adlb = derive_adlb(labs)
    del labs
    write_table(adlb, path("adlb"))
    exclude = plausibility.implausible_lab_values(adlb)
    write_table(safety.lab_toxicity(adlb, windows, exclude), path("lab_grades"))
    write_table(safety.patient_nadirs(adlb, windows, exclude), path("nadirs"))
    del adlb, exclude
    adrs_derived = imwg.derive_adrs_imwg(response_labs, imwg_criteria, imwg_confirmations)
    write_table(adrs_derived, path("adrs_derived"))
    return imwg.patient_response(adrs_derived)


def derive_site_labs(
    checked,
    outputs: dict[str, str],
    nadir_window: dict,
    imwg: dict,
    workers: int = 1,
) -> pd.DataFrame:
    """ADLB, lab grades, nadirs and ADRS_DERIVED of a site, written block by block.

    Parameters
    ----------
    checked : rwe.validate.SiteCheck
        The site, opened (its non-laboratory tables validated).
    outputs : dict of str to str
        The file of each of :data:`LAB_BLOCK_OUTPUTS`; each block's rows are appended to it as
        soon as the block and those before it are done (:func:`derive_lab_block`).
    nadir_window : dict
        Config ``nadir_window`` (:func:`rwe.safety.nadir_windows`).
    imwg : dict
        Config ``imwg`` (``criteria``, ``confirmations``).
    workers : int
        Processes deriving blocks side by side (:meth:`rwe.validate.SiteCheck.derive_lab_blocks`).

    Returns
    -------
    pandas.DataFrame
        Each patient's best response from the labs (:func:`rwe.imwg.patient_response`); when a
        problem was found, that of the blocks derived before it (:meth:`~rwe.validate.SiteCheck.finish`
        raises).
    """
    from functools import partial

    from rwe.io import append_csv
    from rwe.safety import nadir_windows

    parts = Path(checked.scratch)
    derive_block = partial(
        derive_lab_block,
        folder=parts,
        windows=nadir_windows(checked.tables["patients"], **nadir_window),
        imwg_criteria=imwg["criteria"],
        imwg_confirmations=imwg["confirmations"],
    )
    for name in LAB_BLOCK_OUTPUTS:  # appended to, block by block
        Path(outputs[name]).unlink(missing_ok=True)
    responses = []
    for block, response in enumerate(checked.derive_lab_blocks(derive_block, workers)):
        for name in LAB_BLOCK_OUTPUTS:
            append_csv(parts / f"{name}.{block}.csv", outputs[name])
            (parts / f"{name}.{block}.csv").unlink()
        responses.append(response)
    if len(responses) == 1:
        return responses[0]
    return pd.concat(responses, ignore_index=True) if responses else pd.DataFrame()


def combine_data_quality(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """:func:`data_quality` of tables checked in parts (blocks of a laboratory file), summed.

    Rows keep their first order; ``n`` and ``n_missing`` of the same file and column are added.
    """
    table = pd.concat(parts, ignore_index=True)
    if len(parts) == 1 or not table[["file", "column"]].duplicated().any():
        return table
    summed = table.groupby(["file", "column"], sort=False)[["n", "n_missing"]].sum().reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = 100.0 * summed["n_missing"] / summed["n"].where(summed["n"] > 0)
    return summed.assign(percent_missing=percent.to_numpy(dtype=float))


def derive_adae(adverse_events: pd.DataFrame) -> pd.DataFrame:
    """Adverse-event dataset: reported CTCAE terms with their category (hematologic or not).

    Lab-based grading of hematologic events is a safety-stage choice
    (``safety.hematologic_source``), not part of this dataset.
    """
    from rwe.safety import ae_category

    adae = adverse_events.drop(columns=["_row"], errors="ignore").copy()
    adae["category"] = adae["term"].map(ae_category) if len(adae) else pd.Series(dtype=object)
    adae["source"] = "reported"
    return adae


def derive_adlb(labs: pd.DataFrame) -> pd.DataFrame:
    """Laboratory dataset: validated labs, units already harmonised by validation.

    Counts are in 10^9/L and haemoglobin in g/dL (:func:`rwe.units.harmonise_lab_units`).
    The columns are shared with ``labs``, not copied: a laboratory table has ~90 rows per
    patient, and ``drop`` would hold two copies at once.
    """
    return pd.DataFrame({c: labs[c] for c in labs.columns if c != "_row"}, copy=False)


#: Columns of ``responses.csv`` that best overall response is derived from.
RESPONSE_COLUMNS = ["site", "patient_id", "day", "response"]


def derive_site(
    typed: dict[str, pd.DataFrame],
    gfr_cutoff: float = 70,
    pfs_death_events: str = "all",
    lab_response: pd.DataFrame | None = None,
    response_source: str = "recorded",
) -> dict[str, pd.DataFrame]:
    """ADSL, ADRS, ADTTE and ADAE of one site from its validated tables.

    Parameters
    ----------
    typed : dict of str to pandas.DataFrame
        The site's tables as :func:`rwe.validate.validate_site` types them; a file the site did
        not send is absent (ADAE then has no rows). ``labs`` is not used (ADLB is
        :func:`derive_adlb` of it, written on its own: it is large).
    gfr_cutoff, pfs_death_events, lab_response, response_source
        As in :func:`derive_adsl` and :func:`derive_adtte`.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``adsl``, ``adrs``, ``adtte``, ``adae``.
    """
    from rwe.validate import empty_table

    def as_text(table: pd.DataFrame) -> pd.DataFrame:
        # Codes and texts as plain strings (a categorical column would refuse new values).
        out = table.copy(deep=False)
        for col in out.columns:
            if isinstance(out[col].dtype, pd.CategoricalDtype):
                out[col] = out[col].astype(object)
        return out

    patients = as_text(typed["patients"])
    adverse_events = as_text(typed.get("adverse_events", empty_table("adverse_events")))
    responses = typed.get("responses", empty_table("responses"))[RESPONSE_COLUMNS]
    adsl = derive_adsl(patients, responses, gfr_cutoff, lab_response, response_source)
    return {
        "adsl": adsl,
        "adrs": derive_adrs(adsl),
        "adtte": derive_adtte(adsl, pfs_death_events),
        "adae": derive_adae(adverse_events),
    }
