"""Exposure/dose–response by logistic regression (Gupta et al. 2016).

For each safety outcome and for disease control, the probability of the outcome is modelled
as ``logit P = intercept + slope * exposure`` with the time-averaged AUC per day when every
patient of the set has one, otherwise the starting dose. Coefficients, Wald CIs and p are those
of R ``glm(outcome ~ exposure, family = binomial)``; predicted probabilities and their CIs are
computed on the link scale and transformed, as ``predict(fit, se.fit = TRUE)``.

Patients on different regimens are not pooled without comment: each model is also fitted
adjusted for the configured columns (``exposure.adjust_for``, default the regimen), as R
``glm(outcome ~ exposure + factor(regimen), family = binomial)``, and the adjusted odds ratio
is shown beside the unadjusted one. No odds ratio is shown from fewer events than
``min_events``; a cross-validated AUC at or below ``exposure.chance_auc`` is said to be no
better than chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from rwe.response import CATEGORIES, MEASURES, clopper_pearson

#: Outcome name -> (AE term matcher, lowest grade); ``disease_control`` is best response ≥ SD.
OUTCOMES = {
    "neutropenia_ge3": ("Neutrophil count decreased", 3),
    "thrombocytopenia_ge3": ("Platelet count decreased", 3),
    "anemia_ge3": ("Anemia", 3),
    "rash_ge2": ("Rash", 2),
    "fatigue_ge2": ("Fatigue", 2),
    "diarrhea_ge2": ("Diarrhea", 2),
    "peripheral_neuropathy_ge2": ("Peripheral sensory neuropathy", 2),
    "disease_control": (None, None),
}
ER_COLUMNS = [
    "outcome",
    "exposure",
    "n",
    "events",
    "intercept",
    "slope",
    "odds_ratio",
    "ci_lower",
    "ci_upper",
    "p",
]
PREDICTION_COLUMNS = ["outcome", "exposure", "at", "probability", "ci_lower", "ci_upper", "dose_mg"]
FEW_EVENTS = 10
#: Columns of the adjusted model, after ``cv_auc`` (before ``note``).
ADJUSTED_COLUMNS = [
    "adjusted_for",
    "odds_ratio_adjusted",
    "adjusted_ci_lower",
    "adjusted_ci_upper",
    "p_adjusted",
    "odds_ratio_adjusted_iqr",
    "adjusted_iqr_ci_lower",
    "adjusted_iqr_ci_upper",
]


def chance_note(auc: float, chance_auc: float) -> str:
    """The note on a cross-validated AUC at or below ``chance_auc`` ('' above it or when NaN).

    The rule: an AUC of 0.5 is a coin toss; at or below ``chance_auc`` (config
    ``exposure.chance_auc``) the model does not tell patients with the outcome from those
    without better than chance, whatever its odds ratio.
    """
    if not np.isfinite(auc) or auc > chance_auc:
        return ""
    return f"cross-validated AUC {auc:.2f} ≤ {chance_auc:g}: discrimination no better than chance"


def adjustment_matrix(adsl: pd.DataFrame, columns) -> pd.DataFrame:
    """Design columns of the adjustment variables (R ``model.matrix`` without the intercept).

    A numeric column enters as it is; any other (the regimen) as one 0/1 indicator per level
    but the first in sorted order (R's factor coding, treatment contrasts). Missing values stay
    missing (the patient is left out of the adjusted model). Columns not in ADSL are skipped.
    """
    parts = {}
    for column in columns:
        if column not in adsl.columns:
            continue
        values = adsl[column]
        if pd.api.types.is_numeric_dtype(values):
            parts[column] = values.astype(float).to_numpy()
            continue
        levels = sorted(values.dropna().astype(str).unique())
        for level in levels[1:]:
            parts[f"{column}{level}"] = np.where(
                values.isna(), np.nan, (values.astype(str) == level).astype(float)
            )
    return pd.DataFrame(parts, index=adsl.index)


def adjusted_fit(x, y, design: pd.DataFrame, conf_level: float = 0.95) -> tuple[float, ...]:
    """Odds ratio of exposure adjusted for ``design`` (R ``glm(y ~ x + ..., binomial)``).

    Rows with a missing adjustment value are left out; an indicator that is constant among the
    rest (a regimen nobody left has, or everybody has) is dropped, as R ``droplevels``.

    Returns
    -------
    tuple of float
        Odds ratio, Wald CI and p of the exposure (NaN when not estimable).
    """
    keep = ~design.isna().any(axis=1).to_numpy()
    D = design.to_numpy(float)[keep]
    x, y = np.asarray(x, float)[keep], np.asarray(y, int)[keep]
    D = D[:, [j for j in range(D.shape[1]) if np.unique(D[:, j]).size > 1]]
    if y.sum() == 0 or y.sum() == len(y) or np.unique(x).size < 2:
        return (np.nan,) * 4
    fit = logistic_fit(np.column_stack([x, D]), y)
    b, se = fit.params[1], fit.bse[1]
    if not fit.converged or not np.isfinite(se) or se > 1e3:
        return (np.nan,) * 4
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    return np.exp(b), np.exp(b - z * se), np.exp(b + z * se), float(fit.pvalues[1])


def outcome_flags(adsl: pd.DataFrame, ae: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 column per outcome for each patient of ``adsl`` (missing when not evaluable).

    AE outcomes: the patient had an AE whose term contains the matcher at or above the grade
    (patients without such an AE are 0). Disease control: best response SD or better among
    patients with an evaluable response; a different quantity from CBR (≥ MR).
    """
    out = adsl[["site", "patient_id"]].copy()
    patients = pd.MultiIndex.from_arrays(
        [out["site"].astype(object), out["patient_id"].astype(object)]
    )
    for name, (term, grade) in OUTCOMES.items():
        if term is None:
            best = adsl["best_response"]
            out[name] = (
                best.isin(MEASURES["disease_control"]).astype("Int64").where(best.isin(CATEGORIES))
            )
            continue
        # Terms matched once per distinct term; patients matched by (site, id) index lookup.
        term_codes, terms = pd.factorize(ae["term"].astype(str))
        matches = pd.Series(terms).str.contains(term, case=False, regex=False).to_numpy()
        hit = ae[np.append(matches, False)[term_codes] & (ae["grade"] >= grade).to_numpy(bool)]
        keys = pd.MultiIndex.from_arrays(
            [hit["site"].astype(object), hit["patient_id"].astype(object)]
        )
        out[name] = pd.array(patients.isin(keys).astype(int), dtype="Int64")
    return out


def choose_exposure(adsl: pd.DataFrame) -> str:
    """``exposure_auc`` when every patient has one, else ``start_dose_mg``."""
    if "exposure_auc" in adsl.columns and adsl["exposure_auc"].notna().all() and len(adsl):
        return "exposure_auc"
    return "start_dose_mg"


@dataclass
class LogisticFit:
    """Coefficients (intercept, slope) and their covariance, as R ``glm`` reports them."""

    params: np.ndarray
    cov: np.ndarray
    iterations: int
    converged: bool

    @property
    def bse(self) -> np.ndarray:
        """Standard errors (Wald)."""
        return np.sqrt(np.diag(self.cov))

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided Wald p values (R ``summary.glm``'s ``Pr(>|z|)``)."""
        return 2 * stats.norm.sf(np.abs(self.params / self.bse))


def logistic_fit(x, y, epsilon: float = 1e-8, maxit: int = 25) -> LogisticFit:
    """Logistic regression of y on x by IRLS exactly as R ``glm.fit(family = binomial)``.

    ``x`` is one covariate, or a matrix of several (one column each, after the intercept).

    Same start (mustart = (y + 0.5) / 2), same convergence rule (relative change in deviance
    below ``epsilon``), and the covariance from the weights of the last iteration, which is
    what ``summary.glm`` reports; so standard errors agree with R to many digits even when
    few events make the likelihood flat.
    """
    x = np.asarray(x, dtype=float)
    X = np.column_stack([np.ones(len(x)), x.reshape(len(x), -1)])
    y = np.asarray(y, dtype=float)
    mu = (y + 0.5) / 2
    eta = np.log(mu / (1 - mu))
    eps = np.finfo(float).eps
    # R's binomial()$linkinv and $mu.eta (family.c): beyond |eta| > 30 the probability is
    # held at eps from 0 or 1 and its derivative at eps, so a separated fit stays finite.

    def linkinv(eta):
        odds = np.where(eta < -30, eps, np.where(eta > 30, 1 / eps, np.exp(np.clip(eta, -30, 30))))
        return odds / (1 + odds)

    def mu_eta(eta):
        odds = np.exp(np.clip(eta, -30, 30))
        return np.where(np.abs(eta) > 30, eps, odds / (1 + odds) ** 2)

    def deviance(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, y * np.log(y / mu), 0) + np.where(
                y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0
            )
        return 2 * terms.sum()

    dev_old = deviance(mu)
    converged, beta, xtwx = False, np.zeros(X.shape[1]), np.eye(X.shape[1])
    iteration = 0
    while iteration < maxit:
        iteration += 1
        derivative = mu_eta(eta)
        z = eta + (y - mu) / derivative
        w = derivative**2 / (mu * (1 - mu))  # mu.eta^2 / variance(mu), as glm.fit
        xtwx = X.T @ (X * w[:, None])
        beta = np.linalg.solve(xtwx, X.T @ (w * z))
        eta = X @ beta
        mu = linkinv(eta)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
    return LogisticFit(
        params=beta, cov=np.linalg.inv(xtwx), iterations=iteration, converged=converged
    )


def predict_probability(fit, at: float, conf_level: float = 0.95) -> tuple[float, float, float]:
    """Probability at exposure ``at`` with a CI from the link scale (R ``predict(se.fit=TRUE)``)."""
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    row = np.array([1.0, at])
    eta = float(row @ fit.params)
    se = float(np.sqrt(row @ fit.cov @ row))
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    return expit(eta), expit(eta - z * se), expit(eta + z * se)


def cross_validated_auc(x, y, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC AUC of the one-covariate logistic model (stratified k-fold).

    The folds are scikit-learn's ``StratifiedKFold(folds, shuffle=True, random_state=seed)``
    and each fold's AUC is ``roc_auc_score`` of the model's linear predictor on the held-out
    patients, as ``cross_val_score(LogisticRegression(C=inf), ..., scoring="roc_auc")``. With one
    covariate the linear predictor b0 + b1·x orders patients exactly as sign(b1)·x, which is all
    an AUC uses; so each fold needs only the sign of the slope, fitted by :func:`logistic_fit`
    (R's IRLS, milliseconds) instead of scikit-learn's iterative solver (seconds on 10^5 patients).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    if min(np.bincount(y, minlength=2)) < folds:
        return np.nan
    x = np.asarray(x, dtype=float)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = []
    for train, test in cv.split(x.reshape(-1, 1), y):
        slope = logistic_fit(x[train], y[train]).params[1]
        scores.append(roc_auc_score(y[test], np.sign(slope) * x[test]))
    return float(np.array(scores).mean())


def prediction_points(adsl: pd.DataFrame, exposure: str, doses) -> list[tuple[float, float]]:
    """(dose, exposure value) pairs at which to predict.

    On the dose scale the doses themselves; on the AUC scale the median exposure of the
    patients who started on each dose (as Gupta et al. predicted at 3 and 4 mg); a dose nobody
    started on is skipped.
    """
    if exposure == "start_dose_mg":
        return [(float(d), float(d)) for d in doses]
    points = []
    for dose in doses:
        on_dose = adsl.loc[
            np.isclose(adsl["start_dose_mg"].astype(float), float(dose)), exposure
        ].dropna()
        if len(on_dose):
            points.append((float(dose), float(on_dose.median())))
    return points


def exposure_response(
    adsl: pd.DataFrame,
    ae: pd.DataFrame,
    predict_at=(3, 4),
    cv_folds: int = 5,
    conf_level: float = 0.95,
    adjust_for=(),
    min_events: int = 0,
    chance_auc: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Logistic exposure/dose–response models for every outcome.

    ``adjust_for``: ADSL columns of the adjusted model beside each (:func:`adjusted_fit`,
    :func:`adjustment_matrix`); ``min_events``: fewer events than this and no odds ratio is
    shown ("not estimable: k events"); ``chance_auc``: the rule of :func:`chance_note`.

    Returns
    -------
    models : pandas.DataFrame
        Contract columns (``odds_ratio`` per unit of exposure with Wald CI and p), then
        ``median_exposure``, ``iqr`` (R ``IQR``) and the odds ratio per IQR with its CI
        (``odds_ratio_iqr``, ``or_iqr_ci_lower``, ``or_iqr_ci_upper``), observed proportions (and exact CIs) below and above the median,
        ``cv_auc``, the adjusted model (:data:`ADJUSTED_COLUMNS`: ``adjusted_for`` names the
        columns, ``+``-joined) and ``note``.
    predictions : pandas.DataFrame
        Predicted probability with CI at each dose of ``predict_at`` (on the AUC scale, at the
        median exposure of the patients on that dose; see :func:`prediction_points`).
    """
    # One patient order, whatever the order of the input rows: the CV folds depend on it.
    adsl = adsl.sort_values([c for c in ("site", "patient_id") if c in adsl], kind="stable")
    exposure = choose_exposure(adsl)
    flags = outcome_flags(adsl, ae)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    general = []
    if (
        exposure == "start_dose_mg"
        and "exposure_auc" in adsl
        and adsl["exposure_auc"].notna().any()
    ):
        missing = int(adsl["exposure_auc"].isna().sum())
        general.append(
            f"exposure_auc missing for {missing} of {len(adsl)} patients: start dose used"
        )
    design = adjustment_matrix(adsl, adjust_for)
    adjusted_for = "+".join(c for c in adjust_for if c in adsl.columns)
    rows, preds = [], []
    for outcome, (term, _) in OUTCOMES.items():
        data = pd.DataFrame(
            {"x": adsl[exposure].to_numpy(float), "y": flags[outcome].to_numpy()}
        ).dropna()
        x, y = data["x"].to_numpy(float), data["y"].astype(int).to_numpy()
        rows_design = design.iloc[data.index.to_numpy()]
        n, events = len(y), int(y.sum())
        median = float(np.median(x)) if n else np.nan
        # Interquartile range as R IQR() (quantile type 7): the unit of the odds ratios shown.
        iqr = float(np.subtract(*np.percentile(x, [75, 25]))) if n else np.nan
        below, above = y[x <= median], y[x > median]
        observed = [
            below.mean() if len(below) else np.nan,
            *clopper_pearson(below.sum(), len(below), conf_level),
            above.mean() if len(above) else np.nan,
            *clopper_pearson(above.sum(), len(above), conf_level),
            np.median(x[x <= median]) if len(below) else np.nan,
            np.median(x[x > median]) if len(above) else np.nan,
        ]
        if term is not None and ae.empty:
            note = "no adverse-event records (no adverse_events.csv and no lab grades)"
        elif n == 0:
            note = "no patient with a known outcome and exposure"
        elif events == 0 or events == n:
            note = "no events" if events == 0 else "every patient had the outcome"
        elif np.unique(x).size < 2:
            note = "exposure is constant"
        elif events < min_events:
            note = f"{events} event{'s' if events != 1 else ''} (fewer than {min_events})"
        else:
            note = ""
            fit = logistic_fit(x, y)
            b0, b1 = fit.params
            se1 = fit.bse[1]
            if not fit.converged or not np.isfinite(se1) or se1 > 1e3:
                note = "the model did not converge (separation)"
        if note:
            rows.append(
                (
                    outcome,
                    exposure,
                    n,
                    events,
                    *(np.nan,) * 6,
                    median,
                    iqr,
                    *(np.nan,) * 3,
                    *observed,
                    np.nan,
                    adjusted_for,
                    *(np.nan,) * 7,
                    "; ".join([f"not estimable: {note}", *general]),
                )
            )
            continue
        p = float(fit.pvalues[1])
        auc = cross_validated_auc(x, y, cv_folds)
        notes = [] if np.isfinite(auc) else [f"too few events for {cv_folds}-fold AUC"]
        if events < FEW_EVENTS:
            notes.insert(0, f"fewer than {FEW_EVENTS} events: estimate unstable")
        notes.append(chance_note(auc, chance_auc))
        adjusted = adjusted_fit(x, y, rows_design, conf_level) if adjusted_for else (np.nan,) * 4
        if adjusted_for and not np.isfinite(adjusted[0]):
            notes.append(f"not estimable adjusted for {adjusted_for}")
        notes = [n for n in notes if n] + general
        rows.append(
            (
                outcome,
                exposure,
                n,
                events,
                b0,
                b1,
                np.exp(b1),
                np.exp(b1 - z * se1),
                np.exp(b1 + z * se1),
                p,
                median,
                iqr,
                np.exp(b1 * iqr),
                np.exp((b1 - z * se1) * iqr),
                np.exp((b1 + z * se1) * iqr),
                *observed,
                auc,
                adjusted_for,
                *adjusted,
                *(np.asarray(adjusted[:3]) ** iqr),  # per IQR: exp(slope × IQR)
                "; ".join(notes),
            )
        )
        for dose, at in prediction_points(adsl, exposure, predict_at):
            preds.append((outcome, exposure, at, *predict_probability(fit, at, conf_level), dose))
    extra = [
        "median_exposure",
        "iqr",
        "odds_ratio_iqr",
        "or_iqr_ci_lower",
        "or_iqr_ci_upper",
        "observed_below",
        "observed_below_ci_lower",
        "observed_below_ci_upper",
        "observed_above",
        "observed_above_ci_lower",
        "observed_above_ci_upper",
        "median_exposure_below",
        "median_exposure_above",
        "cv_auc",
        *ADJUSTED_COLUMNS,
        "note",
    ]
    return pd.DataFrame(rows, columns=[*ER_COLUMNS, *extra]), pd.DataFrame(
        preds, columns=PREDICTION_COLUMNS
    )


def exposure_curves(
    adsl: pd.DataFrame,
    ae: pd.DataFrame,
    models: pd.DataFrame,
    conf_level: float = 0.95,
    points: int = 60,
) -> pd.DataFrame:
    """Fitted probability with CI over the observed exposure range, for each estimable outcome.

    Parameters
    ----------
    adsl, ae : pandas.DataFrame
        As for :func:`exposure_response`.
    models : pandas.DataFrame
        The models of :func:`exposure_response`: an outcome gets a curve when its slope was
        estimable.
    conf_level : float
        Level of the pointwise band.
    points : int
        Grid points over the observed exposure range.
    """
    exposure = choose_exposure(adsl)
    flags = outcome_flags(adsl, ae)
    rows = []
    for outcome in models.dropna(subset=["slope"])["outcome"]:
        data = pd.DataFrame(
            {"x": adsl[exposure].to_numpy(float), "y": flags[outcome].to_numpy()}
        ).dropna()
        fit = logistic_fit(data["x"], data["y"].astype(int))
        for x in np.linspace(data["x"].min(), data["x"].max(), points):
            rows.append((outcome, x, *predict_probability(fit, x, conf_level)))
    return pd.DataFrame(rows, columns=["outcome", "x", "probability", "ci_lower", "ci_upper"])
