"""The options of the figures and the report: one frozen object built from the validated config.

Every default lives in the config schema (``workflow/schemas/config.schema.yaml``), which the
Snakefile validates with defaults filled in before any rule runs. :meth:`ReportOptions.from_config`
reads that validated config and restates no default; :func:`with_schema_defaults` fills the
schema's defaults into a partial config (tests, the command line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rwe.config import SCHEMA, check_config
from rwe.labels import label
from rwe.multiplicity import primary_pairs
from rwe.survival import Conventions, resolve_conventions

#: The config schema of a source checkout (the Snakefile validates against the same file).
CONFIG_SCHEMA = SCHEMA


def with_schema_defaults(config: Mapping) -> dict:
    """A copy of ``config`` checked against :data:`CONFIG_SCHEMA`, its defaults filled in.

    The check the workflow runs (:func:`rwe.config.check_config`), without looking for the
    site folders.

    Raises
    ------
    rwe.exceptions.ConfigError
        When the config breaks the schema.
    """
    return check_config(dict(config), CONFIG_SCHEMA, check_sites=False)


@dataclass(frozen=True)
class ReportOptions:
    """The config values the figures and the report show or depend on (names as in the config).

    Build it with :meth:`from_config`; each attribute is documented in ``config/README.md``.
    """

    title: str
    published_reference: str | None
    data_cut: str
    sites: tuple[str, ...]
    #: Sites that sent aggregates only (``{aggregates: folder}``).
    aggregate_sites: tuple[str, ...]
    min_cell_count: int
    conf_level: float
    #: ``conventions`` resolved with ``km.conf_type`` (:func:`rwe.survival.resolve_conventions`):
    #: the CI scale and the ties of every KM and Cox estimate.
    conventions: Conventions
    pfs_death_events: str
    covariates: tuple[str, ...]
    subgroups: tuple[str, ...]
    gfr_cutoff: float
    min_regimen_n: int
    hematologic_source: str
    #: ``plausibility.on_implausible``.
    on_implausible: str
    #: ``nadir_window``: its first day, the days after end of treatment, and whether it ends at
    #: progression.
    nadir_start_day: int
    nadir_days_after_end_of_treatment: int
    nadir_until_progression: bool
    ci_bands: bool
    max_patients: int
    #: Which best response drives ORR/CBR (``recorded`` or ``derived``), and the IMWG criteria.
    response_source: str
    imwg_criteria: str
    imwg_confirmations: int
    #: Landmark months of the response analyses and the thresholds of the fragility flags.
    response_landmarks_months: tuple[float, ...]
    min_median_events: int
    min_events_per_covariate: int
    #: ``meta``: the prespecified meta-analysis method, its test (``auto``, ``knha``, ``z``)
    #: and the number of sites below which ``auto`` is Hartung–Knapp.
    meta_method: str
    meta_test: str
    meta_auto_knha_below: int
    #: ``min_events``: no hazard or odds ratio from fewer events; ``primary_comparisons`` as
    #: ``(endpoint, variable)`` pairs (:func:`rwe.multiplicity.primary_pairs`).
    min_events: int = 0
    primary_comparisons: tuple[tuple[str, str], ...] = ()
    #: ``exposure.auc_unit`` and ``exposure.chance_auc``.
    auc_unit: str = ""
    chance_auc: float = 0.5
    #: ``exposure.adjust_for``.
    adjust_for: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping) -> ReportOptions:
        """The options of a validated config (every key present: :func:`with_schema_defaults`)."""
        sites = config["sites"]
        return cls(
            title=config["report"]["title"],
            published_reference=config["report"]["published_reference"],
            data_cut=config["data_cut"],
            sites=tuple(sites),
            aggregate_sites=tuple(
                name
                for name, entry in sites.items()
                if isinstance(entry, Mapping) and "aggregates" in entry
            ),
            min_cell_count=int(config["min_cell_count"]),
            conf_level=float(config["conf_level"]),
            conventions=resolve_conventions(config["conventions"], config["km"]["conf_type"]),
            pfs_death_events=config["pfs_death_events"],
            covariates=tuple(config["cox"]["covariates"]),
            subgroups=tuple(config["subgroups"]),
            gfr_cutoff=config["gfr_cutoff"],
            min_regimen_n=int(config["min_regimen_n"]),
            hematologic_source=config["safety"]["hematologic_source"],
            on_implausible=config["plausibility"]["on_implausible"],
            nadir_start_day=int(config["nadir_window"]["start_day"]),
            nadir_days_after_end_of_treatment=int(
                config["nadir_window"]["days_after_end_of_treatment"]
            ),
            nadir_until_progression=bool(config["nadir_window"]["until_progression"]),
            ci_bands=bool(config["figures"]["ci_bands"]),
            max_patients=int(config["figures"]["max_patients"]),
            response_source=config["response_source"],
            imwg_criteria=str(config["imwg"]["criteria"]),
            imwg_confirmations=int(config["imwg"]["confirmations"]),
            response_landmarks_months=tuple(config["response_landmarks_months"]),
            min_median_events=int(config["km"]["min_median_events"]),
            min_events_per_covariate=int(config["cox"]["min_events_per_covariate"]),
            meta_method=config["meta"]["method"],
            meta_test=config["meta"]["test"],
            meta_auto_knha_below=int(config["meta"]["auto_knha_below"]),
            min_events=int(config["min_events"]),
            primary_comparisons=primary_pairs(config["primary_comparisons"]),
            auc_unit=str(config["exposure"]["auc_unit"]),
            chance_auc=float(config["exposure"]["chance_auc"]),
            adjust_for=tuple(config["exposure"]["adjust_for"]),
        )

    @property
    def conf_type(self) -> str:
        """The scale of the Kaplan–Meier CIs (``log``, ``log-log`` or ``plain``)."""
        return self.conventions.conf_type

    @property
    def ci(self) -> str:
        """``95% CI`` at the configured ``conf_level``, for headers and captions."""
        return f"{100 * self.conf_level:g}% CI"

    @property
    def meta_rule(self) -> str:
        """The prespecified meta-analysis in words, from ``meta`` (:func:`rwe.meta.resolve_test`).

        E.g. ``random effects with τ² by REML, Hartung–Knapp–Sidik–Jonkman CIs (t on k − 1 df)
        when fewer than 10 sites are pooled, Wald z CIs otherwise``.
        """
        model = {
            "REML": "random effects with τ² by REML",
            "DL": "random effects with τ² by DerSimonian–Laird",
            "FE": "fixed effect (inverse variance)",
        }[self.meta_method]
        knha = "Hartung–Knapp–Sidik–Jonkman CIs and p (t on k − 1 df)"
        if self.meta_test == "knha":
            return f"{model}, {knha}"
        if self.meta_test == "z" or self.meta_method == "FE":
            return f"{model}, Wald z CIs and p"
        return (
            f"{model}, {knha} when fewer than {self.meta_auto_knha_below} sites are pooled, "
            "Wald z CIs and p otherwise"
        )

    @property
    def ties(self) -> str:
        """``Efron ties`` or ``Breslow ties``: how the Cox models of this run break ties."""
        return self.conventions.ties_label

    def label(self, variable: str) -> str:
        """Reader's name of an ADSL flag, with this run's ``gfr_cutoff`` (:func:`rwe.labels.label`)."""
        return label(variable, self.gfr_cutoff)
