"""Readers' names of the analysis variables, shared by the tables, figures and report."""

from __future__ import annotations

#: Reader's name of each ADSL flag; ``{gfr_cutoff}`` is the configured cutoff of ``gfr_le70``.
LABELS = {
    "second_line": "Second line",
    "refractory_pi": "PI refractory",
    "triple_class_refractory": "Triple-class refractory",
    "emd": "Extramedullary disease",
    "high_risk_cyto": "High-risk cytogenetics",
    "age_ge80": "Age ≥ 80",
    "gfr_le70": "GFR ≤ {gfr_cutoff}",
    "imid_containing": "IMiD-containing",
    "responder": "Responder (≥ PR)",
    "more_than_3_lines": "More than 3 prior lines",
}


def label(variable: str, gfr_cutoff: float) -> str:
    """Reader's name of an ADSL flag (its name with spaces when it has none).

    Parameters
    ----------
    variable : str
        The ADSL column.
    gfr_cutoff : float
        The config's ``gfr_cutoff``, the threshold that the ``gfr_le70`` label shows.
    """
    name = LABELS.get(variable, variable.replace("_", " "))
    return name.format(gfr_cutoff=f"{gfr_cutoff:g}")


#: How a unit of the data is printed (``10^9/L`` in the data is ×10⁹/L on the page).
UNIT_DISPLAY = {"10^9/L": "×10⁹/L"}
#: Printed unit of each blood count of the nadir tables and figures.
LAB_UNIT_DISPLAY = {"ANC": "×10⁹/L", "WBC": "×10⁹/L", "PLT": "×10⁹/L", "HGB": "g/dL"}


def unit(name) -> str:
    """A unit as printed: ``10^9/L`` as ×10⁹/L; other units (and empty cells) as they are."""
    return UNIT_DISPLAY.get(name, name)


def exposure_axis_label(exposure: str, auc_unit: str = "") -> str:
    """The name of an exposure with its unit: the time-averaged AUC per day, or the dose.

    ``auc_unit`` is config ``exposure.auc_unit`` (the unit of ``exposure_auc``).
    """
    if exposure != "exposure_auc":
        return "Starting dose (mg)"
    return "Time-averaged AUC per day" + (f" ({auc_unit})" if auc_unit else "")
