"""Issue 13: shuffling the rows of any input file changes no output table.

The demo extract goes through the pure functions the workflow's scripts call, in their order
(with the analysis datasets written and read back as CSV, as the rules pass them), once as
bundled and once with the rows of every file in a seeded random order. Every table must be
the same, value for value.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rwe import derive, exposure, safety, sites
from rwe import survival_tables as st
from rwe.io import read_adam, read_site, write_table
from rwe.response import response_table, response_test_table
from rwe.tables import baseline_table
from rwe.validate import empty_table, validate_extract

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
CONFIG = {
    "subgroups": [
        "second_line",
        "refractory_pi",
        "triple_class_refractory",
        "emd",
        "high_risk_cyto",
        "age_ge80",
        "gfr_le70",
        "imid_containing",
        "responder",
    ],
    "covariates": ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"],
}
ALIASES = {"IRd": "Ixa-Rd", "IPd": "Ixa-Pd", "ITd": "Ixa-Td"}


def output_tables(folder: Path, work: Path) -> dict[str, pd.DataFrame]:
    """Every output table of one site's extract, computed as the workflow's scripts do."""
    raw, _ = read_site(folder, "demo")
    typed = validate_extract({"demo": raw}, ALIASES, False)
    adam = derive.derive_site(typed, 70, "all")
    adlb = derive.derive_adlb(typed.get("labs", empty_table("labs")))
    adam |= {"lab_grades": safety.grade_from_labs(adlb), "nadirs": safety.patient_nadirs(adlb)}
    for name, frame in adam.items():  # the rules pass the datasets as CSV files
        write_table(frame, work / f"{name}.csv")
    adsl, adtte, adae = (read_adam(work / f"{n}.csv") for n in ("adsl", "adtte", "adae"))
    lab_grades, nadirs = read_adam(work / "lab_grades.csv"), read_adam(work / "nadirs.csv")
    sets = derive.analysis_sets(adsl, 20)
    subgroups, covariates = CONFIG["subgroups"], CONFIG["covariates"]
    km = st.km_fits(adsl, adtte, sets, subgroups, conf_type="log", conf_level=0.95)
    models = st.cox_models(adsl, adtte, sets, covariates)
    ae = safety.combine_hematologic(adae, lab_grades, "reported")
    every_regimen = {r: adsl[adsl["regimen"] == r] for r in sorted(adsl["regimen"].unique())}
    exposure_models, predictions = exposure.exposure_response(adsl, ae, [3, 4], 5, 0.95)
    return {
        "data_quality": derive.data_quality(typed),
        "attrition": derive.attrition(adsl, adtte, subgroups, covariates),
        "baseline": baseline_table(sets),
        "response": response_table(sets, subgroups, 0.95),
        "response_tests": response_test_table(sets, subgroups),
        "km_medians": st.km_median_table(km),
        "km_landmarks": st.km_landmark_table(km, [6, 12, 24]),
        "km_curves": st.km_curves(km),
        "followup": st.followup_table(adsl, adtte, sets, conf_type="log", conf_level=0.95),
        "logrank": st.logrank_table(adsl, adtte, sets, subgroups),
        "cox": st.cox_table(models, 0.95),
        "cox_diagnostics": st.cox_diagnostics_table(models),
        "site_summary": sites.site_summary(adsl, adtte, conf_type="log", conf_level=0.95),
        "adverse_events": safety.adverse_event_table(every_regimen | sets, ae, "reported"),
        "nadir": safety.nadir_table(sets, nadirs),
        "nadir_tests": safety.nadir_test_table(sets, nadirs),
        "exposure_response": exposure_models,
        "exposure_predictions": predictions,
        "exposure_curves": exposure.exposure_curves(adsl, ae, exposure_models, 0.95),
    }


def shuffled_extract(target: Path, seed: int) -> Path:
    """The demo extract with the rows of every file in a random order (header first)."""
    target.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for path in sorted(DEMO.glob("*.csv")):
        header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
        (target / path.name).write_text(
            header + "".join(rows[i] for i in rng.permutation(len(rows))), encoding="utf-8"
        )
    return target


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    work = tmp_path_factory.mktemp("bundled")
    return output_tables(DEMO, work)


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_rows_change_no_table(bundled, tmp_path, seed):
    extract = shuffled_extract(tmp_path / "extract", seed)
    assert (extract / "patients.csv").read_bytes() != (DEMO / "patients.csv").read_bytes()
    shuffled = output_tables(extract, tmp_path)
    assert shuffled.keys() == bundled.keys()
    for name, table in bundled.items():
        assert len(table), name
        pd.testing.assert_frame_equal(
            shuffled[name].reset_index(drop=True), table.reset_index(drop=True), obj=name
        )
