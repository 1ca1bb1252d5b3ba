"""The time-to-event endpoints of ADTTE: their PARAMCDs, which PFS is primary, their labels.

PFS is analysed under two rules for deaths without prior progression (config
``pfs_death_events``, DESIGN.md §4): ``all`` (death from any cause is an event: the IMWG and
FDA convention) and ``myeloma`` (deaths from other causes censored at the day of death: what
Zhou et al. did). The configured rule is the primary definition, PARAMCD ``PFS``; each of these
two rules that is not the primary one is a prespecified sensitivity definition with its own
PARAMCD (:data:`PFS_SENSITIVITY_PARAMCD`), so ADTTE always holds PFS under both (and with
``pfs_death_events: none``, under all three). OS (death from any cause) has one definition.
"""

from __future__ import annotations

PFS = "PFS"
OS = "OS"
#: The rules a sensitivity definition of PFS is analysed under (when not the primary rule).
PFS_SENSITIVITY_RULES = ("all", "myeloma")
#: PARAMCD of PFS under each rule when that rule is a sensitivity definition.
PFS_SENSITIVITY_PARAMCD = {"all": "PFSALL", "myeloma": "PFSMYE"}
#: The rule of the published study (Zhou et al.): the published comparison uses PFS under it.
PAPER_PFS_RULE = "myeloma"
#: What each rule counts as a PFS event besides progression, in a reader's words.
PFS_RULE_WORDS = {
    "all": "death from any cause",
    "myeloma": "death from myeloma or unknown cause (other deaths censored)",
    "none": "no death (deaths censored)",
}


def pfs_sensitivity_rules(primary: str) -> list[str]:
    """The sensitivity rules of PFS: those of :data:`PFS_SENSITIVITY_RULES` not ``primary``."""
    return [rule for rule in PFS_SENSITIVITY_RULES if rule != primary]


def pfs_paramcd(rule: str, primary: str) -> str:
    """PARAMCD of PFS under ``rule`` when ``primary`` is the configured rule."""
    return PFS if rule == primary else PFS_SENSITIVITY_PARAMCD[rule]


def is_sensitivity(endpoint: str) -> bool:
    """Whether ``endpoint`` (a PARAMCD) is a sensitivity definition of PFS."""
    return endpoint in PFS_SENSITIVITY_PARAMCD.values()


def sensitivity_rule(endpoint: str) -> str:
    """The ``pfs_death_events`` rule of a sensitivity PARAMCD (``PFSALL`` -> ``all``)."""
    return {code: rule for rule, code in PFS_SENSITIVITY_PARAMCD.items()}[endpoint]


def endpoint_label(endpoint: str) -> str:
    """Reader's name of an endpoint (``PFS, sensitivity: death from any cause`` for PFSALL)."""
    if is_sensitivity(endpoint):
        return f"PFS, sensitivity: {PFS_RULE_WORDS[sensitivity_rule(endpoint)]}"
    return str(endpoint)


def paper_pfs_endpoint(endpoints) -> str:
    """The endpoint holding PFS under the published study's rule, among ``endpoints``.

    ``PFSMYE`` when it is there (the primary rule is another one), else the primary ``PFS``
    (whose rule is then the paper's: :func:`pfs_sensitivity_rules` always adds it otherwise).
    """
    paper = PFS_SENSITIVITY_PARAMCD[PAPER_PFS_RULE]
    return paper if paper in set(endpoints) else PFS
