"""The multiplicity policy (rwe.multiplicity): which comparisons are prespecified."""

import pandas as pd

from rwe.multiplicity import (
    EXPLORATORY,
    PRESPECIFIED,
    is_prespecified,
    label_analysis,
    primary_pairs,
    primary_text,
)


def test_primary_pairs_from_config_in_order_without_repeats():
    entries = [
        {"endpoint": "pfs", "variable": "gfr_le70"},
        {"endpoint": "OS", "variable": "emd"},
        {"endpoint": "PFS", "variable": "gfr_le70"},
    ]
    assert primary_pairs(entries) == (("PFS", "gfr_le70"), ("OS", "emd"))
    assert primary_pairs(None) == ()


def test_only_comparisons_of_all_patients_can_be_prespecified():
    primary = (("PFS", "emd"),)
    assert is_prespecified("all", "PFS", "emd", primary)
    assert not is_prespecified("Ixa-Rd", "PFS", "emd", primary)  # a regimen subset
    assert not is_prespecified("all", "OS", "emd", primary)
    assert not is_prespecified("all", "PFS", "age_ge80", primary)


def test_label_analysis_marks_each_row_and_only_the_named_models():
    cox = pd.DataFrame(
        {
            "analysis_set": ["all", "all", "all", "Ixa-Rd"],
            "endpoint": ["PFS", "PFS", "OS", "PFS"],
            "model": ["univariable", "multivariable", "multivariable", "multivariable"],
            "term": ["emd", "emd", "emd", "emd"],
        }
    )
    out = label_analysis(cox, (("PFS", "emd"),), "term", only_models=["multivariable"])
    assert out["analysis"].tolist() == [EXPLORATORY, PRESPECIFIED, EXPLORATORY, EXPLORATORY]
    empty = label_analysis(cox.iloc[:0], (("PFS", "emd"),), "term")
    assert "analysis" in empty.columns


def test_primary_text_groups_endpoints_by_variable():
    text = primary_text((("PFS", "emd"), ("OS", "emd"), ("PFS", "regimen")), str.upper)
    assert text == "PFS and OS by EMD; PFS by REGIMEN"
