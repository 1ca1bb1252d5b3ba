"""Readers' names of the analysis variables, shared by the tables, figures and report."""

from __future__ import annotations

#: Reader's name of each ADSL flag.
LABELS = {
    "second_line": "Second line",
    "refractory_pi": "PI refractory",
    "triple_class_refractory": "Triple-class refractory",
    "emd": "Extramedullary disease",
    "high_risk_cyto": "High-risk cytogenetics",
    "age_ge80": "Age ≥ 80",
    "gfr_le70": "GFR ≤ 70",
    "imid_containing": "IMiD-containing",
    "responder": "Responder (≥ PR)",
    "more_than_3_lines": "More than 3 prior lines",
}


def label(variable: str) -> str:
    """Reader's name of an ADSL flag (its name with spaces when it has none)."""
    return LABELS.get(variable, variable.replace("_", " "))
