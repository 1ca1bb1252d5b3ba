"""The survival fits of rwe's survival stage, done with lifelines, timed for ``make bench``.

Usage: ``python bench/bench_lifelines.py ADAM_DIR CONFIG CAP_SECONDS``. Reads rwe's adsl.csv
and adtte.csv and, per analysis set (all + each regimen with more than ``min_regimen_n``
patients) and endpoint (PFS, OS): KaplanMeierFitter per subgroup level (median with its CI,
survival at the landmarks), reverse KM for follow-up, logrank_test per subgroup flag and
CoxPHFitter (Efron) univariable and multivariable with concordance and the proportional-hazards
test (``transform="km"``, as R's cox.zph). Stops after the fit that passes ``CAP_SECONDS`` and
says so. Prints one JSON object: status, seconds, fits done, peak RSS.
"""

import json
import resource
import sys
import time
import warnings

import lifelines
import pandas as pd
import yaml
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times


def km(x, landmarks, reverse=False):
    """Kaplan-Meier fit, median with CI and survival at the landmarks."""
    fit = KaplanMeierFitter().fit(x["aval"], 1 - x["event"] if reverse else x["event"])
    median_survival_times(fit.confidence_interval_)
    return fit.median_survival_time_, fit.survival_function_at_times(landmarks)


def logrank(x, flag):
    """Two-group log-rank test (R survdiff)."""
    a, b = x[x[flag] == 1], x[x[flag] == 0]
    return logrank_test(a["aval"], b["aval"], a["event"], b["event"]).p_value


def cox(x, terms):
    """Cox model (Efron ties), concordance and the PH test of each term."""
    data = x[[*terms, "aval", "event"]].dropna()
    fit = CoxPHFitter().fit(data, "aval", "event")
    proportional_hazard_test(fit, data, time_transform="km")
    return fit.summary, fit.concordance_index_


def tasks(adsl, adtte, cfg):
    """Every fit of the survival stage, as (name, function) pairs, in rwe's order."""
    counts = adsl["regimen"].value_counts()
    sets = {"all": adsl} | {
        r: adsl[adsl["regimen"] == r] for r in counts.index[counts > cfg["min_regimen_n"]]
    }
    landmarks = cfg["km"]["landmarks_months"]
    covariates = cfg["cox"]["covariates"]
    for subset in sets.values():
        for endpoint in ("PFS", "OS"):
            tte = adtte.loc[adtte["paramcd"] == endpoint, ["site", "patient_id", "aval", "cnsr"]]
            d = subset.merge(tte, on=["site", "patient_id"]).assign(event=lambda t: 1 - t["cnsr"])
            yield "km", lambda d=d: km(d, landmarks)
            for flag in cfg["subgroups"]:
                for level in (0, 1):
                    x = d[d[flag] == level]
                    if len(x):
                        yield "km", lambda x=x: km(x, landmarks)
            yield "km", lambda d=d: km(d, landmarks, reverse=True)
            for flag in cfg["subgroups"]:
                if d[flag].dropna().nunique() == 2:
                    yield "logrank", lambda d=d, flag=flag: logrank(d, flag)
            for terms in [[c] for c in covariates] + [covariates]:
                yield "cox", lambda d=d, terms=terms: cox(d, terms)


def main(adam_dir, config_path, cap):
    """Run the fits until done or past the cap; return the measurements."""
    warnings.simplefilter("ignore")
    cfg = yaml.safe_load(open(config_path))
    start = time.perf_counter()
    adsl = pd.read_csv(f"{adam_dir}/adsl.csv")
    adtte = pd.read_csv(f"{adam_dir}/adtte.csv")
    read_s = time.perf_counter() - start
    todo = list(tasks(adsl, adtte, cfg))
    seconds = {"km": 0.0, "logrank": 0.0, "cox": 0.0}
    done = 0
    for kind, fit in todo:
        t0 = time.perf_counter()
        fit()
        seconds[kind] += time.perf_counter() - t0
        done += 1
        if time.perf_counter() - start > cap:
            break
    return {
        "status": "ok" if done == len(todo) else "capped",
        "cap_s": cap,
        "wall_s": time.perf_counter() - start,
        "read_s": read_s,
        "seconds": seconds,
        "fits_done": done,
        "fits_total": len(todo),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": f"lifelines {lifelines.__version__}",
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
