import numpy as np
import pandas as pd

from rwe.published import COMPARISON_COLUMNS, published_comparison


def test_comparison_reads_each_estimate_from_its_table():
    tables = {
        "response": pd.DataFrame({"analysis_set": ["all"], "variable": ["all"], "level": ["all"],
                                  "n_evaluable": [120], "orr": [0.5], "cbr": [0.8]}),
        "km_medians": pd.DataFrame({"analysis_set": ["all", "all"], "endpoint": ["PFS", "OS"],
                                    "variable": ["all", "all"], "level": ["all", "all"],
                                    "median": [8.1, np.nan], "ci_lower": [6.0, 50.0], "ci_upper": [11.0, np.nan]}),
        "cox": pd.DataFrame({"analysis_set": ["all"], "endpoint": ["PFS"], "model": ["multivariable"],
                             "term": ["gfr_le70"], "hr": [2.5]}),
    }  # fmt: skip
    out = published_comparison(tables).set_index("quantity")
    assert list(out.reset_index().columns) == COMPARISON_COLUMNS
    assert out.loc["ORR (≥PR)", "this_run"] == 50.0
    assert out.loc["ORR (≥PR)", "published"] == 52.5
    assert out.loc["median PFS", "this_run"] == 8.1
    assert np.isnan(out.loc["median OS", "this_run"])  # not reached stays empty, never a number
    assert out.loc["PFS HR gfr_le70 (multivariable)", "this_run"] == 2.5
    assert out.loc["PFS HR gfr_le70 (multivariable)", "published"] == 2.11
    # A table that is absent leaves its rows empty rather than failing.
    assert np.isnan(out.loc["median age", "this_run"])
