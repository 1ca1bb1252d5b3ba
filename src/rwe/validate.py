"""Validation of site extracts against the input contract (DESIGN.md §3).

Validation is *lazy*: every file is checked completely and every problem found is collected,
then one :class:`~rwe.exceptions.InputError` lists them all with file, row and column. Values
of identifier-like columns are never part of a message.

A site's own conventions are harmonised first (:func:`validate_site`): regimen, response and
sex spellings by aliases, lab unit spellings, and, for a site that sends calendar dates
(``dates``), every date turned into whole days from the patient's ``start_date``
(:func:`convert_dates`); the dates themselves are dropped and never appear in a message.

The checks run in four passes per file:

1. columns: identifier-like and calendar-date columns are refused; unknown columns are refused
   unless allowed; required columns must be present;
2. types: every cell of a numeric column must parse;
3. domain (a pandera schema, lazy): codes, ranges, required values, unique ids;
4. cross-field logic: day ordering within a row and keys of the long tables; lab units
   (harmonised here, so an unknown unit is reported with everything else).
"""

from __future__ import annotations

import functools
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api.types import union_categoricals

from rwe.blocks import PatientBlocks
from rwe.catalog import LONG_TABLE_DAYS
from rwe.exceptions import InputError, Problem
from rwe.units import harmonise_lab_units

REGIMENS = ("Ixa-Rd", "Ixa-Pd", "Ixa-Td", "Ixa-Dd", "Ixa-Ed", "Ixa-Cd", "Ixa-d", "Ixa")
RESPONSES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
LAB_TESTS = tuple("WBC ANC HGB PLT SPEP_M UPEP_M FLC_involved FLC_ratio IFE BMPC".split())
GFR_RANGE = (0.0, 200.0)

#: Words (compared case-insensitively) that mean a missing value in identifier, day and number
#: columns, as spreadsheets, R, SAS and databases write it. Code and text columns keep them as
#: text: a site or regimen may be called ``NA``.
MISSING_WORDS = frozenset({"na", "n/a", "n.a.", "null", "none", "nan", "-nan", "#n/a", "#na", "."})
#: Day columns hold at most this many days unless the config says otherwise (``max_day``).
DEFAULT_MAX_DAY = 36_525
#: Largest whole number a day or count may hold (beyond it a float no longer holds every integer).
MAX_WHOLE = 2**53
#: A value echoed in a message is at most this long (longer ones are described, not shown).
MOST_SHOWN_CHARS = 24

#: Identifier words of column names, after :func:`normalise_name`: found anywhere in the name
#: with its separators removed (``patientname``, ``geburtsdatum``, ``hospitalno``)...
IDENTIFIER_STEMS = (
    # names
    *(
        """
            name vorname nachname nombre apellido cognome prenom surname forename initials
            initialen voornaam achternaam
        """.split()
    ),
    # record and personal numbers
    *(
        """
            mrn medicalrecord recordnumber recordno recordnr hospitalno hospitalnum hospitalnr
            hospitalid chartno chartnum patientno patientnum patientnr patnr patientennummer
            patientenid fallnummer fallnr aufnahmenummer kisnr caseno casenum nhsno nhsnum
            socialsecurity sozialversicherung versichertennummer versicherungsnummer insurance
            krankenkasse historiaclinica numerohistoria expediente dossier personnummer passport
            reisepass nationalid codicefiscale identitynumber ausweis svnr
        """.split()
    ),
    # e-mail
    *"email mail courriel correo".split(),
    # phone
    *"phone telefon teleph mobil movil handynummer cellular".split(),
    # address
    *(
        """
            address adress anschrift direccion indirizzo street strasse wohnort postcode
            postalcode zipcode postleitzahl codigopostal codepostal
        """.split()
    ),
    # date of birth
    *"birth geburt gebdat nacimiento naissance nascita nascimento geboorte fodelse".split(),
)
#: ...and short words that are identifiers only as a whole word of the name (``nom``,
#: ``tel``), since they occur inside harmless words (``nominal``, ``hotel``).
IDENTIFIER_WORDS = frozenset(
    """
        nom nome naam initial ssn nhs nhi ahv nir bsn cpr dni nif nss ipp nhc tel tlf fax handy
        portable city town ort ville ciudad citta stadt zip plz dob ddn gebdatum
    """.split()
)
#: Words naming a record kept at a hospital; with a number word they are a record number
#: (``hospital_no``, ``case_id``, ``Fall-Nr``).
RECORD_WORDS = frozenset(
    """
        hospital klinik clinic kis record chart case fall akte patient pat admission encounter
    """.split()
)
NUMBER_WORDS = frozenset({"no", "nr", "num", "number", "nummer", "numero", "id", "ident"})
#: Column names that look like calendar dates (as a word, or ``...date`` / ``...datum``).
DATE_WORDS = frozenset({"date", "datum", "dt", "fecha"})
DATE_STEMS = ("datum", "fecha")
#: Cell values that look like identifying data, by what they look like. Searched in free-text
#: and extra columns (:func:`check_identifying_values`); never echoed.
IDENTIFYING_VALUES = {
    "an e-mail address": re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    # A capitalised title and a capitalised word ("Dr Quixotica"), not "500 ms prolonged".
    "a name with a title": re.compile(
        r"\b(Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Sig|Sig\.ra)\.?\s+[^\W\d_a-z]\w+"
    ),
    # Day, month and year with one separator (12.03.2021, 2021-03-12, 3/12/21), or a month name
    # ("12 March 2021"); not a range such as 0.5-1.0.
    "a date": re.compile(
        r"\b(\d{4}([-/.])\d{1,2}\2\d{1,2}|\d{1,2}([-/.])\d{1,2}\3(\d{4}|\d{2}))\b|\b\d{1,2}\.?\s*"
        r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mär|mai|okt|dez|janv|févr|avr|juil|août|"
        r"déc|ene|abr|ago|dic)[a-zé]*\.?\s*\d{2,4}\b",
        re.IGNORECASE,
    ),
    "a phone number": re.compile(
        r"(\+|\b00)\d[\d ()/.-]{6,}\d|\b\d{2,5}[ ()/.-]+\d{3,}[ /.-]+\d{2,}\b"
    ),
    "a record number": re.compile(r"[^\W\d_].*\d{5,}|\d{5,}.*[^\W\d_]"),
}
#: In a free-text column of the contract (an AE term, a unit) any run of five digits is a
#: record or phone number: no CTCAE term or unit has one.
DIGIT_RUN = re.compile(r"\d{5,}")


def normalise_name(name: str) -> str:
    """Return a column name as identifier words are matched.

    Accents removed, case folded, words joined by ``_`` (``E-Mail`` → ``e_mail``,
    ``Geburtsdatum`` → ``geburtsdatum``, ``PatientName`` → ``patient_name``).
    """
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))  # PatientName -> Patient_Name
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")


def identifier_kind(name: str) -> str | None:
    """Return ``"identifier"`` or ``"date"`` when a column name looks like one, else None.

    Names in any of several languages and spellings count.

    Matches the curated :data:`IDENTIFIER_STEMS` anywhere in the name with its separators
    removed, :data:`IDENTIFIER_WORDS` as whole words, a record word with a number word
    (``hospital_no``, ``case_id``), and date words.
    """
    normal = normalise_name(name)
    words = set(normal.split("_"))
    joined = normal.replace("_", "")
    if (
        any(stem in joined for stem in IDENTIFIER_STEMS)
        or words & IDENTIFIER_WORDS
        or (words & RECORD_WORDS and words & NUMBER_WORDS)
    ):
        return "identifier"
    if words & DATE_WORDS or any(s in joined for s in DATE_STEMS) or joined.endswith("date"):
        return "date"
    return None


def identifying_value(value: str, free_text: bool = False) -> str | None:
    """Return what a cell looks like when it looks like identifying data, else None.

    Identifying data: an e-mail address, a phone or record number, a date, a name with a title.

    ``free_text`` (a contract text column) also counts any run of five digits.
    """
    text = str(value)
    for kind, pattern in IDENTIFYING_VALUES.items():
        if pattern.search(text):
            return kind
    if free_text and DIGIT_RUN.search(text):
        return "a record or phone number"
    return None


#: What an e-mail address (``@``) or a name with a title (a space) cannot do without: a
#: pseudonym with neither is passed over without running their patterns.
_ID_MAY_IDENTIFY = re.compile(r"[@\s]")


def _identifying_id(value: str) -> str | None:
    if not _ID_MAY_IDENTIFY.search(value):
        return None
    for kind in ("an e-mail address", "a name with a title"):
        if IDENTIFYING_VALUES[kind].search(value):
            return kind
    return None


#: A word of a cell value a message may show: letters, as the contract spells its codes.
_WORD = re.compile(r"[^\W\d_]+")


@functools.cache
def _contract_words() -> frozenset[str]:
    """The words of the contract's own codes, lab units and missing-value words (casefolded)."""
    from rwe.units import ACCEPTED_UNITS, HARMONISED_UNIT

    texts = [str(c) for fields in contract().values() for f in fields for c in (f.codes or ())]
    texts += [*REGIMENS, *HARMONISED_UNIT.values(), *sum(ACCEPTED_UNITS.values(), ())]
    texts += [*MISSING_WORDS, "inf", "infinity"]
    return frozenset(w.casefold() for text in texts for w in _WORD.findall(text))


def shown(value) -> str:
    """Return `` (got 'x')`` for a message when the value can only be a number or a code.

    A value with a word the contract does not spell (a name typed into a code column, free
    text) is described, never shown: messages reach logs and terminals. Long values and values
    that look identifying are not shown either.
    """
    text = str(value)
    if identifying_value(text) or DIGIT_RUN.search(text):
        return " (the value is not shown: it may identify someone)"
    if len(text) > MOST_SHOWN_CHARS:
        return f" (got a value of {len(text)} characters)"
    if any(w.casefold() not in _contract_words() for w in _WORD.findall(text)):
        return f" (got a text of {len(text)} characters that is not one of the codes; not shown)"
    return f" (got '{text}')"


#: Cell values that look like calendar dates (ISO, European and US spellings).
DATE_VALUE_PATTERN = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}.*)?\s*$"
)


#: Day columns of each file; a site with ``dates: true`` may send each as a date column instead.
DAY_COLUMNS = {
    "patients": (
        "progression_day",
        "last_assessment_day",
        "death_day",
        "last_followup_day",
        "end_of_treatment_day",
        "entry_day",
    ),
    "responses": ("day",),
    "adverse_events": ("onset_day",),
    "labs": ("day",),
}
DAY_NAMES = frozenset(day for days in DAY_COLUMNS.values() for day in days)
#: The column of ``patients.csv`` holding each patient's day-0 date (``dates: true`` only).
START_DATE = "start_date"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def date_column(day_column: str) -> str:
    """Name of the date column that replaces a day column: ``day`` → ``date``, ``x_day`` → ``x_date``."""
    return "date" if day_column == "day" else day_column.removesuffix("_day") + "_date"


@dataclass(frozen=True)
class Field:
    """One column of the input contract.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"id", "text", "code", "int", "float"}
        ``id`` is an identifier: never echoed. ``code`` must be one of ``codes``.
    required : bool
        Whether the column must be present.
    nullable : bool
        Whether a cell may be blank.
    codes : tuple of str, optional
        Allowed values of a ``code`` column (or of a 0/1 ``int`` column).
    low, high : float, optional
        Inclusive range of a numeric column.
    """

    name: str
    kind: str
    required: bool = True
    unique: bool = False
    nullable: bool = False
    codes: tuple | None = None
    low: float | None = None
    high: float | None = None

    def expected(self) -> str:
        """Describe what the column holds, for messages."""
        if self.codes is not None:
            return "one of " + ", ".join(str(c) for c in self.codes)
        what = {
            "int": "a whole number",
            "float": "a number",
            "text": "text",
            "id": "an id",
            "code": "a code",
        }[self.kind]
        if self.low is not None and self.high is not None:
            what += f" from {self.low:g} to {self.high:g}"
        elif self.low is not None:
            what += f" ≥ {self.low:g}"
        return what + (" or blank" if self.nullable else "")


def _flag(name: str, nullable: bool = False, required: bool = True) -> Field:
    return Field(name, "int", required=required, nullable=nullable, codes=(0, 1))


def contract(
    regimens: tuple[str, ...] = REGIMENS,
    has_responses: bool = False,
    max_day: int = DEFAULT_MAX_DAY,
) -> dict[str, list[Field]]:
    """Return the input contract: the fields of every file of a site extract.

    Parameters
    ----------
    regimens : tuple of str
        Regimen codes accepted after aliases are applied.
    has_responses : bool
        Whether ``responses.csv`` is part of the extract (then ``best_response`` may be blank).
    max_day : int
        Largest day a day column may hold (config ``max_day``): beyond any plausible follow-up,
        e.g. a calendar date written as ``20230401``.
    """

    def _day(name: str, nullable: bool = True, required: bool = True, low: float = 0) -> Field:
        return Field(name, "int", required=required, nullable=nullable, low=low, high=max_day)

    return {
        "patients": [
            Field("patient_id", "id", unique=True),
            Field("sex", "code", codes=("M", "F")),
            Field("age", "int", low=18, high=90),
            Field("diagnosis", "code", codes=("MM", "POEMS", "MGCS", "other")),
            _flag("al_amyloidosis"),
            Field("years_since_diagnosis", "float", low=0),
            Field("regimen", "code", codes=tuple(regimens)),
            Field("setting", "code", codes=("relapse", "maintenance")),
            Field("start_dose_mg", "float", low=0.1, high=10),
            Field("prior_lines", "int", low=1, high=30),
            _flag("refractory_imid"),
            _flag("refractory_pi"),
            _flag("refractory_cd38"),
            _flag("prior_asct"),
            _flag("prior_allo"),
            _flag("del17p", nullable=True),
            _flag("t4_14", nullable=True),
            _flag("gain1q21", nullable=True),
            _flag("emd", nullable=True),
            Field("gfr", "float", nullable=True, low=GFR_RANGE[0], high=GFR_RANGE[1]),
            Field("pn_baseline_grade", "int", nullable=True, low=0, high=4),
            Field(
                "best_response", "code", required=not has_responses, nullable=True, codes=RESPONSES
            ),
            _day("progression_day"),
            _day("last_assessment_day"),
            _day("death_day"),
            Field("death_cause", "code", nullable=True, codes=("myeloma", "other", "unknown")),
            _day("last_followup_day", nullable=False),
            Field("exposure_auc", "float", required=False, nullable=True, low=0),
            _day("end_of_treatment_day", required=False),
            _day("entry_day", required=False, nullable=False),
        ],
        "responses": [
            Field("patient_id", "id"),
            _day("day", nullable=False),
            Field("response", "code", codes=RESPONSES),
        ],
        "adverse_events": [
            Field("patient_id", "id"),
            Field("term", "text"),
            Field("grade", "int", low=1, high=5),
            _day("onset_day", nullable=False),
        ],
        "labs": [
            Field("patient_id", "id"),
            # Baseline labs are drawn before day 0: negative days are allowed here only.
            _day("day", nullable=False, low=-365),
            Field("test", "code", codes=LAB_TESTS),
            Field("value", "float", low=0),
            Field("unit", "text"),
        ],
    }


def check_columns(
    table: pd.DataFrame, fields: list[Field], label: str, allow_extra_columns: bool
) -> list[Problem]:
    """Refuse identifier-like, date-like and unknown columns; require the contract's columns."""
    problems = []
    known = {f.name for f in fields}
    for col in table.columns:
        if col in ("site", "_row") or col in known:
            continue
        kind = identifier_kind(col)
        if kind == "identifier":
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    "looks like a direct identifier (a name, "
                    "record number, e-mail, phone, address or date of birth) and "
                    "is never accepted, even with allow_extra_columns; remove the "
                    "column from the extract",
                )
            )
        elif kind == "date":
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    "looks like a calendar date and is never "
                    "accepted; give days from day 0 instead",
                )
            )
        elif not allow_extra_columns:
            problems.append(
                Problem(
                    label,
                    None,
                    col,
                    "is not part of the input contract; remove "
                    "it or set allow_extra_columns: true in the config",
                )
            )
    for f in fields:
        if f.required and f.name not in table.columns:
            problems.append(
                Problem(
                    label, None, f.name, f"required column is missing (expected {f.expected()})"
                )
            )
    return problems


def check_date_values(table: pd.DataFrame, label: str) -> list[Problem]:
    """Refuse any column (known or not) whose cells look like calendar dates."""
    problems = []
    for col in table.columns:
        if col in ("site", "_row"):
            continue
        hits = _text_mask(table[col], lambda v: v.astype(str).str.match(DATE_VALUE_PATTERN))
        if hits.any():
            rows = table.loc[hits, "_row"].tolist()
            problems.append(
                Problem(
                    label,
                    rows[0],
                    col,
                    f"holds calendar dates on {len(rows)} "
                    f"row(s) ({_rows(rows)}); give days from day 0 instead",
                )
            )
    return problems


def _distinct(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (−1 for missing) and the distinct non-missing values of a column.

    A categorical column (every text column read by :func:`rwe.io.read_extract_file`) already
    has them; other columns are factorized.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), pd.Series(column.cat.categories, dtype=object)
    codes, uniques = pd.factorize(column)
    return codes, pd.Series(uniques)


def _text_mask(column: pd.Series, test) -> np.ndarray:
    """Boolean mask of the non-missing cells for which ``test`` (on a Series of values) holds.

    ``test`` runs once per distinct value, not once per cell.
    """
    codes, values = _distinct(column)
    hit = np.asarray(test(values), dtype=bool) if len(values) else np.zeros(0, dtype=bool)
    return np.append(hit, False)[codes]


def _rows(rows: list[int], most: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:most])
    return f"rows {shown}" + (f" and {len(rows) - most} more" if len(rows) > most else "")


def parse_types(
    table: pd.DataFrame, fields: list[Field], label: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert numeric columns, reporting every cell that does not parse.

    Returns
    -------
    typed : pandas.DataFrame
        Integer columns as ``Int64``, float columns as ``float64``; cells that did not parse
        are missing (and reported).
    problems : list of Problem
    """
    typed = table.copy(deep=False)  # columns are replaced, never modified in place
    problems = []
    for f in fields:
        if f.name not in table.columns or f.kind not in ("int", "float"):
            continue
        raw = table[f.name]
        codes, parsed, bad_value = _parse_distinct(raw, f.kind)
        if bad_value.any():
            for idx in np.flatnonzero(np.append(bad_value, False)[codes]):
                problems.append(
                    Problem(
                        label,
                        int(table["_row"].iloc[idx]),
                        f.name,
                        f"expected {f.expected()}{shown(raw.iloc[idx])}",
                    )
                )
        typed[f.name] = pd.Series(_spread(parsed, codes, f.kind), index=table.index, name=f.name)
    return typed, problems


def _parse_distinct(raw: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse each distinct text of a numeric column once.

    Returns the row codes (−1 missing), the number of each distinct text (NaN when it does not
    parse, or is not whole in an ``int`` column) and which distinct texts are bad.
    """
    codes, distinct = _distinct(raw)
    parsed = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=float)
    # inf, Infinity and numbers too large to be exact are not values of any column
    parsed[~(np.abs(parsed) <= MAX_WHOLE)] = np.nan
    bad_value = np.isnan(parsed)
    if kind == "int":
        fractional = ~bad_value & (parsed != np.floor(np.nan_to_num(parsed)))
        bad_value |= fractional
        parsed[fractional] = np.nan
    return codes, parsed, bad_value


def _spread(parsed: np.ndarray, codes: np.ndarray, kind: str):
    """Per-row values from per-distinct values: ``Int64`` for ``int`` columns, else float64.

    Built directly from the codes (astype("Int64") of a float column re-checks every value and
    needs two more copies of a 90-million-row column).
    """
    missing = np.append(np.isnan(parsed), True)
    if kind == "int":
        whole = np.append(np.where(missing[:-1], 0, parsed).astype(np.int64), 0)
        return pd.arrays.IntegerArray(whole[codes], missing[codes])
    return np.append(parsed, np.nan)[codes]


def domain_schema(fields: list[Field]) -> pa.DataFrameSchema:
    """Build the pandera schema that checks codes, ranges, required values and unique ids."""
    columns = {}
    for f in fields:
        checks = []
        if f.codes is not None:
            checks.append(pa.Check.isin(list(f.codes), error=f"expected {f.expected()}"))
        elif f.low is not None or f.high is not None:
            low = -np.inf if f.low is None else f.low
            high = np.inf if f.high is None else f.high
            checks.append(pa.Check.in_range(low, high, error=f"expected {f.expected()}"))
        dtype = {"int": "Int64", "float": "float64"}.get(f.kind, object)
        columns[f.name] = pa.Column(
            dtype, checks=checks, nullable=f.nullable, unique=f.unique, required=False, coerce=False
        )
    return pa.DataFrameSchema(columns, strict=False)


def check_domain(
    typed: pd.DataFrame,
    fields: list[Field],
    label: str,
    parse_failed: set,
    raw: pd.DataFrame | None = None,
) -> list[Problem]:
    """Run the pandera schema lazily and turn every failure into a :class:`Problem`.

    Cells that already failed to parse (``parse_failed``: (row, column) pairs) are not
    reported a second time as missing. ``raw``, the text table :func:`parse_types` converted,
    lets numeric columns be checked per distinct text (already coded) instead of factorizing
    the typed column.

    Codes, ranges and required values are properties of a value, not of its row, so the schema
    validates the distinct values of each column (missing counted as one) and every failure is
    spread back over the rows holding that value: a laboratory file of 90 million rows has a
    few thousand distinct values per column, and pandera on every row took minutes. Unique
    columns (``patient_id`` of ``patients.csv``) are validated row by row, as uniqueness is
    about rows.
    """
    rows = typed["_row"].to_numpy()
    problems = []
    for f in fields:
        if f.name not in typed.columns:
            continue
        text = f.kind in ("id", "text", "code")
        if f.unique:
            cells = np.arange(len(typed))
            values = typed[f.name].astype(object) if text else typed[f.name]
        else:
            numeric = f.kind in ("int", "float")
            if numeric and raw is not None and isinstance(raw[f.name].dtype, pd.CategoricalDtype):
                # The typed value of each distinct text, exactly as parse_types made it.
                cells, parsed, _ = _parse_distinct(raw[f.name], f.kind)
                distinct = pd.Series(_spread(parsed, np.arange(len(parsed)), f.kind))
            else:
                cells, distinct = _distinct(typed[f.name])
            values = distinct.astype(object) if text else distinct
            if (cells < 0).any():
                missing = pd.Series([pd.NA if f.kind == "int" else np.nan], dtype=values.dtype)
                values = pd.concat([values, missing], ignore_index=True)
        messages = _domain_failures(f, values.reset_index(drop=True).to_frame(f.name))
        if not messages:
            continue
        if not f.unique:
            cells = np.where(cells < 0, len(values) - 1, cells)
        for i in np.flatnonzero(np.isin(cells, list(messages))):
            row = int(rows[i])
            if (row, f.name) not in parse_failed:
                problems.append(Problem(label, row, f.name, messages[int(cells[i])]))
    return problems


def _domain_failures(f: Field, column: pd.DataFrame) -> dict[int, str]:
    """Messages of the pandera failures of one column, by position in ``column``."""
    try:
        domain_schema([f]).validate(column, lazy=True)
    except pa.errors.SchemaErrors as err:
        messages = {}
        for case in err.failure_cases.itertuples(index=False):
            if case.column != f.name or pd.isna(case.index):
                continue
            if case.check == "not_nullable":
                message = f"a value is required (expected {f.expected()})"
            elif case.check == "field_uniqueness":
                message = "duplicate patient_id: the same id is on more than one row"
            elif f.name in DAY_NAMES and _looks_like_yyyymmdd(case.failure_case):
                message = (
                    f"looks like a calendar date (YYYYMMDD), not a day; expected days "
                    f"from day 0 ({f.expected()})"
                )
            else:
                message = f"{case.check}{'' if f.kind == 'id' else shown(case.failure_case)}"
            messages.setdefault(int(case.index), message)
        return messages
    return {}


def _looks_like_yyyymmdd(value) -> bool:
    """Whether a whole number reads as a calendar date 1900-01-01 … 2199-12-31 (``20230401``)."""
    try:
        text = str(int(value))
    except (TypeError, ValueError, OverflowError):
        return False
    return bool(re.fullmatch(r"(19|20|21)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", text))


def blank_missing_words(table: pd.DataFrame, fields: list[Field]) -> pd.DataFrame:
    """Blank the missing-value words of the identifier and numeric columns.

    :data:`MISSING_WORDS` are ``NA``, ``NULL``, ``None``, ``nan``, ``#N/A`` …; code and text
    columns keep them as text.

    A missing identifier is then reported as such (a value is required), never taken as a
    patient called ``NA``.
    """
    out = table
    for f in fields:
        if f.kind not in ("id", "int", "float") or f.name not in table.columns:
            continue
        column = table[f.name]
        if not isinstance(column.dtype, pd.CategoricalDtype):
            continue
        words = [v for v in column.cat.categories if str(v).strip().casefold() in MISSING_WORDS]
        if words:
            out = out.copy(deep=False) if out is table else out
            out[f.name] = column.cat.remove_categories(words)
    return out


def check_identifying_values(table: pd.DataFrame, fields: list[Field], label: str) -> list[Problem]:
    """Refuse cells that look like identifying data in free-text and extra columns.

    Text columns of the contract (an AE term, a unit) and columns outside it (accepted with
    ``allow_extra_columns``) are searched for e-mail addresses, phone and record numbers,
    dates and names with a title (:func:`identifying_value`); identifiers (pseudonyms, which
    hold digits) for e-mail addresses and names with a title. Code columns accept their codes
    only, and numeric columns numbers only. The values are never shown.
    """
    kinds = {f.name: f.kind for f in fields}
    problems = []
    for col in table.columns:
        kind = kinds.get(col, "extra")
        if col in ("site", "_row") or kind not in ("id", "text", "extra"):
            continue
        codes, values = _distinct(table[col])
        if kind == "id":  # pseudonyms hold digits: only an e-mail address or a name is refused
            found = [_identifying_id(v) for v in values.astype(str)]
        else:  # a whole date is already reported by check_date_values
            found = [
                None if DATE_VALUE_PATTERN.match(v) else identifying_value(v, kind == "text")
                for v in values.astype(str)
            ]
        if not any(found):
            continue
        found.append(None)
        rows = table["_row"].to_numpy()
        for i in np.flatnonzero([found[c] is not None for c in codes]):
            problems.append(
                Problem(
                    label,
                    int(rows[i]),
                    col,
                    f"looks like {found[codes[i]]} "
                    "(identifying data never leaves the site; the value is not "
                    "shown): remove it or code it",
                )
            )
    return problems


def check_duplicate_rows(table: pd.DataFrame, label: str) -> list[Problem]:
    """Refuse rows of a long table that repeat an earlier row exactly (every column the same).

    A repeated assessment, event or laboratory value changes derived results: two identical
    response rows would "confirm" a response seen once. Compared on the codes of each column's
    distinct texts, so a large laboratory table is not turned into Python strings.
    """
    columns = [c for c in table.columns if c not in ("site", "_row")]
    if not columns or len(table) < 2:
        return []
    # One whole number per row from the columns' codes (mixed radix: code + 1, 0 = missing),
    # hashed once; a row key too large for int64 (very many distinct values) is hashed per column.
    key, radix = np.zeros(len(table), dtype=np.int64), 1
    for col in columns:
        codes, values = _distinct(table[col])
        radix *= len(values) + 1
        if radix >= 2**62:
            keys = pd.DataFrame({c: _distinct(table[c])[0] for c in columns})
            repeated = keys.duplicated().to_numpy()
            break
        # In place: no 8-byte temporaries of a 100-million-row table beside the key.
        key *= len(values) + 1
        key += codes
        key += 1
    else:
        repeated = pd.Series(key).duplicated().to_numpy()
    return [
        Problem(
            label,
            int(r),
            None,
            "repeats an earlier row exactly (every column the same): "
            "remove the copy, or the same record is counted twice",
        )
        for r in table["_row"].to_numpy()[repeated]
    ]


def check_patient_logic(patients: pd.DataFrame, label: str) -> list[Problem]:
    """Cross-field rules of ``patients.csv``.

    - every day in the row is at most ``last_followup_day``;
    - death is not before progression;
    - ``death_cause`` is given only with ``death_day``;
    - ``last_assessment_day`` is not before ``progression_day``;
    - with ``entry_day`` (delayed entry), :func:`check_entry_day`.
    """
    problems = []
    p = patients
    for col in ("progression_day", "last_assessment_day", "death_day", "end_of_treatment_day"):
        if col in p.columns and "last_followup_day" in p.columns:
            bad = (p[col] > p["last_followup_day"]).fillna(False)
            problems += [
                Problem(
                    label,
                    int(r),
                    col,
                    "is after last_followup_day (last follow-up "
                    "must be on or after every other day in the row)",
                )
                for r in p.loc[bad, "_row"]
            ]
    if {"death_day", "progression_day"} <= set(p.columns):
        bad = (p["death_day"] < p["progression_day"]).fillna(False)
        problems += [
            Problem(label, int(r), "death_day", "death is before progression_day")
            for r in p.loc[bad, "_row"]
        ]
    if {"death_day", "death_cause"} <= set(p.columns):
        bad = p["death_cause"].notna() & p["death_day"].isna()
        problems += [
            Problem(
                label, int(r), "death_cause", "a cause of death is given but death_day is blank"
            )
            for r in p.loc[bad, "_row"]
        ]
    if {"last_assessment_day", "progression_day"} <= set(p.columns):
        bad = (p["last_assessment_day"] < p["progression_day"]).fillna(False)
        problems += [
            Problem(
                label,
                int(r),
                "last_assessment_day",
                "is before progression_day (progression is itself a disease assessment)",
            )
            for r in p.loc[bad, "_row"]
        ]
    return problems + check_entry_day(p, label)


#: Days of ``patients.csv`` that must be after ``entry_day``: the observation window is
#: (entry, exit], so an exit on or before entry has no time at risk (R: start < stop).
AFTER_ENTRY = ("progression_day", "death_day", "last_assessment_day", "last_followup_day")


def check_entry_day(patients: pd.DataFrame, label: str) -> list[Problem]:
    """Delayed entry: progression, death, last assessment and last follow-up after ``entry_day``.

    Each patient is observed from ``entry_day`` (a patient referred after day 0): every
    Kaplan–Meier, log-rank and Cox counts the patient at risk on (entry, exit], as R
    ``Surv(entry, time, status)``, which needs entry < exit; an event on or before entry
    could not have been observed by the site. Blank days are not checked.
    """
    if "entry_day" not in patients.columns:
        return []
    problems = []
    for col in AFTER_ENTRY:
        if col not in patients.columns:
            continue
        bad = (patients[col] <= patients["entry_day"]).fillna(False)
        problems += [
            Problem(
                label,
                int(r),
                col,
                "is on or before entry_day (follow-up runs from entry: every exit and event "
                "must be after it)",
            )
            for r in patients.loc[bad, "_row"]
        ]
    return problems


def check_responses_after_entry(
    responses: pd.DataFrame, patients: pd.DataFrame, label: str
) -> list[Problem]:
    """Delayed entry: no response assessment before the patient's ``entry_day``."""
    if "entry_day" not in patients.columns or "day" not in responses.columns:
        return []
    entry = _per_patient(responses, patients, patients["entry_day"])
    bad = pd.array(responses["day"].array < entry).fillna(False).to_numpy(dtype=bool)
    return [
        Problem(label, int(r), "day", "is before the patient's entry_day (not yet observed)")
        for r in responses["_row"].to_numpy()[bad]
    ]


def _per_patient(table: pd.DataFrame, patients: pd.DataFrame, values: pd.Series) -> np.ndarray:
    """``values`` (aligned with ``patients``) of each row's patient: same site and id.

    NaN when the patient is not in ``patients`` (the first row of a duplicated id counts).
    Looked up once per distinct site and patient id, then spread over the rows by code: a
    laboratory table has ~90 rows per patient.
    """
    site_codes, sites = _distinct(table["site"])
    id_codes, ids = _distinct(table["patient_id"])
    patient_sites = patients["site"].astype(object).to_numpy()
    out = None if len(sites) == 1 else np.full(len(table), np.nan)
    for i, site in enumerate(sites):
        mine = patient_sites == site
        known = pd.Series(
            values[mine].to_numpy(dtype=float, na_value=np.nan),
            index=patients.loc[mine, "patient_id"].astype(object).to_numpy(),
        )
        known = known[~known.index.duplicated()]
        per_id = np.append(known.reindex(ids.to_numpy()).to_numpy(), np.nan)
        if out is None:  # one site (the usual case): no per-site masks over every row
            return per_id[id_codes]
        in_site = site_codes == i
        out[in_site] = per_id[id_codes[in_site]]
    return np.full(len(table), np.nan) if out is None else out


def check_keys(table: pd.DataFrame, patients: pd.DataFrame, label: str) -> list[Problem]:
    """Every row of a long table must belong to a patient of ``patients.csv`` (same site)."""
    if "patient_id" not in table.columns or "patient_id" not in patients.columns:
        return []
    known = _per_patient(table, patients, pd.Series(1.0, index=patients.index))
    bad = np.isnan(known) & table["patient_id"].notna().to_numpy()
    return [
        Problem(label, int(r), "patient_id", "this patient is not in patients.csv")
        for r in table["_row"].to_numpy()[bad]
    ]


def check_long_table_days(
    table: pd.DataFrame, patients: pd.DataFrame, day_col: str, label: str
) -> list[Problem]:
    """Days in a long table must not be after the patient's last follow-up."""
    needed = day_col in table.columns and "patient_id" in table.columns
    if not needed or not {"patient_id", "last_followup_day"} <= set(patients.columns):
        return []  # a missing column is reported by check_columns
    limit = _per_patient(table, patients, patients["last_followup_day"])
    # Compared on the nullable array itself (no float copy of a 90-million-row column); a
    # missing day or limit is not a problem.
    bad = pd.array(table[day_col].array > limit).fillna(False).to_numpy(dtype=bool)
    return [
        Problem(label, int(r), day_col, "is after the patient's last_followup_day")
        for r in table["_row"].to_numpy()[bad]
    ]


def apply_regimen_aliases(patients: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """Map a site's own regimen spellings to the contract's codes (exact, then case-insensitive)."""
    if "regimen" not in patients.columns:
        return patients
    exact = dict(aliases)
    folded = {str(k).casefold(): v for k, v in aliases.items()}
    folded.update({r.casefold(): r for r in REGIMENS})
    out = patients.copy()
    out["regimen"] = out["regimen"].map(
        lambda r: r if pd.isna(r) else exact.get(r, folded.get(str(r).casefold(), r))
    )
    return out


def apply_aliases(table: pd.DataFrame, column: str, aliases: dict) -> pd.DataFrame:
    """Map a site's own spellings in ``column`` to the contract's codes.

    Matching is exact first, then case-insensitive; other values are kept (and checked by
    validation). Keys are compared as text, so a YAML ``{1: M, 2: F}`` maps the cells ``1`` and
    ``2``. A categorical column is mapped once per distinct value.
    """
    if not aliases or column not in table.columns:
        return table
    exact = {str(k): str(v) for k, v in aliases.items()}
    folded = {k.casefold(): v for k, v in exact.items()}

    def code(value):
        return (
            value if pd.isna(value) else exact.get(value, folded.get(str(value).casefold(), value))
        )

    out = table.copy(deep=False)
    out[column] = _map_distinct(table[column], code)
    return out


def _map_distinct(column: pd.Series, func) -> pd.Series:
    """``column.map(func)``, computed once per distinct value of a categorical column."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column.map(func)
    mapped = pd.Series(column.cat.categories, dtype=object).map(func)
    codes, uniques = pd.factorize(mapped)
    old = column.cat.codes.to_numpy()
    new = np.where(old >= 0, codes[np.maximum(old, 0)], -1)
    return pd.Series(pd.Categorical.from_codes(new, uniques), index=column.index, name=column.name)


def _epoch_days(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row: days since 1970-01-01 of an ISO date (NaN when blank or bad), and which are bad.

    Each distinct text is parsed once; only ``YYYY-MM-DD`` (a real calendar day) is a date.
    """
    codes, values = _distinct(column)
    text = values.astype(str)
    iso = text.str.fullmatch(ISO_DATE).to_numpy(dtype=bool) if len(text) else np.zeros(0, bool)
    parsed = pd.to_datetime(text.where(iso), format="%Y-%m-%d", errors="coerce")
    days = (parsed - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(days)
    return np.append(days, np.nan)[codes], np.append(bad, False)[codes]


def _day_text(days: np.ndarray) -> pd.Categorical:
    """Whole days (NaN = missing) as the categorical text a site's day column is read as."""
    missing = np.isnan(days)
    codes, uniques = pd.factorize(np.where(missing, 0, days).astype(np.int64))
    codes = np.where(missing, -1, codes)
    return pd.Categorical.from_codes(codes, [str(int(v)) for v in uniques])


def convert_dates(
    tables: dict[str, pd.DataFrame], site: str
) -> tuple[dict[str, pd.DataFrame], list[Problem], dict[str, dict[str, str]], set]:
    """Turn a site's calendar dates into whole days from each patient's ``start_date``.

    Every day column (:data:`DAY_COLUMNS`) may be sent as a date column instead
    (:func:`date_column`: ``progression_date``, ``onset_date``, ``date`` …), as ``YYYY-MM-DD``;
    ``patients.csv`` then needs ``start_date``, the patient's day 0. A date column is replaced by
    its day column (the date minus ``start_date``), and ``start_date`` is dropped: no date is
    kept, and no message shows a date or an identifier.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The site's raw text tables (:func:`rwe.io.read_site`).
    site : str
        The site's name (messages name files as ``<site>/<file>.csv``).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        The tables with day columns only.
    problems : list of Problem
        Dates that are not ``YYYY-MM-DD``, days before the range of the day column (a date
        before ``start_date``), a missing ``start_date``, or a column sent both ways.
    converted : dict of str to dict of str to str
        Per file stem, each converted day column → the date column it came from (so that later
        problems name the column of the file).
    failed : set of (str, int, str)
        (file stem, row, day column) of each cell already reported here.
    """
    spec = contract()
    problems: list[Problem] = []
    converted: dict[str, dict[str, str]] = {}
    failed: set = set()
    patients = tables.get("patients")
    sends_dates = any(
        date_column(day) in table.columns
        for stem, table in tables.items()
        for day in DAY_COLUMNS.get(stem, ())
    )
    if patients is None or (not sends_dates and START_DATE not in patients.columns):
        return tables, problems, converted, failed
    label = f"{site}/patients.csv"
    start = np.full(len(patients), np.nan)
    if START_DATE not in patients.columns:
        message = (
            "required column is missing: the site sends dates (dates: true), which count from "
            "each patient's start_date (YYYY-MM-DD)"
        )
        problems.append(Problem(label, None, START_DATE, message))
    else:
        start, bad = _epoch_days(patients[START_DATE])
        rows = patients["_row"].to_numpy()
        blank = patients[START_DATE].isna().to_numpy()
        problems += _row_problems(label, rows[bad], START_DATE, "expected a date YYYY-MM-DD")
        problems += _row_problems(
            label, rows[blank], START_DATE, "a value is required (the patient's day 0, YYYY-MM-DD)"
        )
    start_of = pd.Series(start, index=patients["patient_id"].astype(object).to_numpy())
    start_of = start_of[~start_of.index.duplicated()]
    out = dict(tables)
    for stem, table in tables.items():
        lows = {f.name: f.low for f in spec.get(stem, [])}
        label = f"{site}/{stem}.csv"
        for day in DAY_COLUMNS.get(stem, ()):
            date = date_column(day)
            if date not in table.columns:
                continue
            if day in table.columns:
                problems.append(Problem(label, None, date, f"give either {day} or {date}"))
                table = table.drop(columns=date)
                continue
            if stem == "patients":
                origin = start
            else:
                codes, ids = _distinct(table["patient_id"])
                origin = np.append(start_of.reindex(ids.to_numpy()).to_numpy(), np.nan)[codes]
            when, bad = _epoch_days(table[date])
            days = when - origin
            rows = table["_row"].to_numpy()
            early = days < lows[day]
            before = "is before start_date"
            if lows[day] < 0:
                before = f"is more than {-lows[day]:g} days before start_date"
            problems += _row_problems(label, rows[bad], date, "expected a date YYYY-MM-DD")
            problems += _row_problems(label, rows[early], date, before)
            # A cell whose date or start_date is bad was reported once; its day is left blank.
            unknown = bad | early | (table[date].notna().to_numpy() & np.isnan(origin))
            failed |= {(stem, int(r), day) for r in rows[unknown]}
            days[unknown] = np.nan
            table = table.copy(deep=False)
            position = table.columns.get_loc(date)
            table = table.drop(columns=date)
            table.insert(position, day, _day_text(days))
            converted.setdefault(stem, {})[day] = date
        if stem == "patients" and START_DATE in table.columns:
            table = table.drop(columns=START_DATE)
        out[stem] = table
    return out, problems, converted, failed


def _row_problems(label: str, rows: np.ndarray, column: str, message: str) -> list[Problem]:
    return [Problem(label, int(r), column, message) for r in rows]


def validate_site(
    tables: dict[str, pd.DataFrame],
    site: str,
    regimen_aliases: dict[str, str] | None = None,
    allow_extra_columns: bool = False,
    *,
    response_aliases: dict[str, str] | None = None,
    sex_aliases: dict[str, str] | None = None,
    lab_units: dict[str, str] | None = None,
    dates: bool = False,
    max_day: int = DEFAULT_MAX_DAY,
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Validate the raw tables of one site; return them typed, with every problem found.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Raw text tables by file stem (``patients``, ``responses``, ``adverse_events``,
        ``labs``), as :func:`rwe.io.read_site` returns them.
    site : str
        The site's name (messages name files as ``<site>/<file>.csv``).
    regimen_aliases : dict, optional
        A site's spellings mapped to regimen codes. The codes accepted are the contract's plus
        the targets of the aliases.
    allow_extra_columns : bool
        Accept (and drop) columns that are not in the contract. Identifier-like and date
        columns are refused regardless.
    response_aliases, sex_aliases : dict, optional
        A site's spellings of IMWG responses (``best_response`` and ``responses.csv``) and of
        sex, mapped to the contract's codes (exact, then case-insensitive).
    lab_units : dict, optional
        A site's unit spellings mapped to units :func:`rwe.units.harmonise_lab_units` knows.
    dates : bool
        The site may send dates (:func:`convert_dates`); otherwise date columns are refused.
    max_day : int
        Largest day a day column may hold (config ``max_day``).

    Returns
    -------
    typed : dict of str to pandas.DataFrame
        The tables with typed columns and only the contract's columns (plus ``site``, ``_row``).
    problems : list of Problem
    """
    aliases = regimen_aliases or {}
    regimens = tuple(dict.fromkeys([*REGIMENS, *aliases.values()]))
    spec = contract(regimens, has_responses="responses" in tables, max_day=max_day)
    problems: list[Problem] = []
    converted, date_failed = {}, set()
    if dates:
        tables, problems, converted, date_failed = convert_dates(tables, site)
    coding = dict(
        regimen_aliases=aliases,
        response_aliases=response_aliases,
        sex_aliases=sex_aliases,
        lab_units=lab_units,
    )
    typed_tables = {}
    for stem, table in tables.items():
        failed = {(row, col) for s, row, col in date_failed if s == stem}
        typed_tables[stem], found = validate_table(
            stem, table, spec[stem], site, allow_extra_columns, failed, **coding
        )
        problems += _name_date_columns(found, converted.get(stem, {}))
    patients = typed_tables.get("patients")
    for stem in LONG_TABLE_DAYS:
        if stem in typed_tables and patients is not None:
            found = check_against_patients(stem, typed_tables[stem], patients, site)
            problems += _name_date_columns(found, converted.get(stem, {}))
    return typed_tables, problems


def validate_table(
    stem: str,
    table: pd.DataFrame,
    fields: list[Field],
    site: str,
    allow_extra_columns: bool = False,
    date_failed: set | None = None,
    *,
    regimen_aliases: dict[str, str] | None = None,
    response_aliases: dict[str, str] | None = None,
    sex_aliases: dict[str, str] | None = None,
    lab_units: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate one raw table of a site (or one block of it) on its own.

    Parameters
    ----------
    stem : str
        The file (``patients``, ``responses``, ``adverse_events``, ``labs``).
    table : pandas.DataFrame
        Its raw text table (:func:`rwe.io.read_site`), or a block of whole patients of it
        (:class:`rwe.blocks.PatientBlocks`).
    fields : list of Field
        The file's contract (:func:`contract`).
    site, allow_extra_columns, regimen_aliases, response_aliases, sex_aliases, lab_units
        As in :func:`validate_site`.
    date_failed : set of (int, str), optional
        Rows and columns whose date :func:`convert_dates` could not convert (already reported).

    Returns
    -------
    typed : pandas.DataFrame
        The contract's columns typed (plus ``site`` and ``_row``); labs in harmonised units.
    problems : list of Problem
        Every problem of the table that needs no other table (rows against ``patients.csv``
        are :func:`check_against_patients`).
    """
    if stem == "patients":
        table = apply_regimen_aliases(table, regimen_aliases or {})
        table = apply_aliases(table, "sex", sex_aliases)
    response = "best_response" if stem == "patients" else "response"
    table = apply_aliases(table, response, response_aliases)
    if stem == "labs":
        table = apply_aliases(table, "unit", lab_units)
    label = f"{site}/{stem}.csv"
    table = blank_missing_words(table, fields)
    found = check_columns(table, fields, label, allow_extra_columns)
    found += check_date_values(table, label)
    found += check_identifying_values(table, fields, label)
    if stem == "patients" and len(table) == 0:
        found.append(
            Problem(
                label, None, None, "has no data rows: expected one row per patient after the header"
            )
        )
    elif stem != "patients":
        found += check_duplicate_rows(table, label)
    typed, parse_problems = parse_types(table, fields, label)
    found += parse_problems
    parse_failed = {(p.row, p.column) for p in parse_problems} | (date_failed or set())
    found += check_domain(typed, fields, label, parse_failed, table)
    del table
    if stem == "patients":
        found += check_patient_logic(typed, label)
    keep = ["site", *[f.name for f in fields if f.name in typed.columns], "_row"]
    # Selecting columns copies them: only when there is something to drop (a 90-million-row
    # laboratory table is not copied for nothing).
    if keep != list(typed.columns):
        typed = typed[keep]
    if stem == "labs" and {"test", "unit", "value"} <= set(typed.columns):
        try:
            typed = harmonise_lab_units(typed, label)
        except InputError as err:
            found += err.problems
    return typed, found


def check_against_patients(
    stem: str, table: pd.DataFrame, patients: pd.DataFrame, site: str
) -> list[Problem]:
    """A long table's rows against ``patients.csv``: a known patient, no day after follow-up."""
    label = f"{site}/{stem}.csv"
    found = check_keys(table, patients, label)
    if stem == "responses":
        found += check_responses_after_entry(table, patients, label)
    return found + check_long_table_days(table, patients, LONG_TABLE_DAYS[stem], label)


def _name_date_columns(problems: list[Problem], converted: dict[str, str]) -> list[Problem]:
    """Problems of a day column converted from a date column name the date column (the file's)."""
    if not converted:
        return problems
    return [replace(p, column=converted.get(p.column, p.column)) for p in problems]


def validate_extract(
    sites: dict[str, dict[str, pd.DataFrame]],
    regimen_aliases: dict[str, str] | None = None,
    allow_extra_columns: bool = False,
    *,
    site_options: dict[str, dict] | None = None,
    max_day: int = DEFAULT_MAX_DAY,
) -> dict[str, pd.DataFrame]:
    """Validate every site's extract and pool them.

    Parameters
    ----------
    sites : dict of str to dict of str to pandas.DataFrame
        Site name to its raw tables (see :func:`validate_site`).
    regimen_aliases, allow_extra_columns
        As in :func:`validate_site`.
    site_options : dict of str to dict, optional
        Per site, the keyword arguments of :func:`validate_site` for its own conventions
        (``regimen_aliases``, which override the shared ones, ``response_aliases``,
        ``sex_aliases``, ``lab_units``, ``dates``).
    max_day : int
        Largest day a day column may hold (config ``max_day``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Each file's typed table, all sites concatenated (a file absent at every site is absent).

    Raises
    ------
    InputError
        Listing every problem found in every file of every site.
    """
    problems: list[Problem] = []
    pooled: dict[str, list[pd.DataFrame]] = {}
    for site, tables in sites.items():
        options = dict((site_options or {}).get(site, {}))
        aliases = {**(regimen_aliases or {}), **options.pop("regimen_aliases", {})}
        typed, site_problems = validate_site(
            tables, site, aliases, allow_extra_columns, max_day=max_day, **options
        )
        problems += site_problems
        for stem, table in typed.items():
            pooled.setdefault(stem, []).append(table)
    if problems:
        problems.sort(key=lambda p: (p.file, p.row if p.row is not None else -1, p.column or ""))
        raise InputError(problems)
    return {stem: _pool(parts) for stem, parts in pooled.items()}


@dataclass
class CheckedBlock:
    """What checking one laboratory block found.

    Its problems, and for a valid block the validated rows, their response tests, missingness
    and plausibility counts.
    """

    problems: list[Problem]
    labs: pd.DataFrame | None = None
    response_labs: pd.DataFrame | None = None
    data_quality: pd.DataFrame | None = None
    findings: pd.DataFrame | None = None


@dataclass
class LabBlockCheck:
    """Everything needed to validate one block of a site's laboratory file on its own."""

    site: str
    fields: list
    coding: dict
    allow_extra_columns: bool
    patients: pd.DataFrame
    raw_patients: pd.DataFrame | None = None  # with dates: the labs' dates need start_date

    def __call__(self, raw: pd.DataFrame) -> CheckedBlock:
        """Validate a raw block (:class:`rwe.blocks.PatientBlocks`) against the patients."""
        from rwe.derive import data_quality
        from rwe.imwg import response_labs
        from rwe.plausibility import lab_block_findings

        label = f"{self.site}/labs.csv"
        problems, converted, failed = [], {}, set()
        if self.raw_patients is not None:
            both = {"patients": self.raw_patients, "labs": raw}
            both, found, converted, failed = convert_dates(both, self.site)
            raw = both["labs"]
            problems += [p for p in found if p.file == label]
            converted = converted.get("labs", {})
            failed = {(row, col) for s, row, col in failed if s == "labs"}
        labs, found = validate_table(
            "labs", raw, self.fields, self.site, self.allow_extra_columns, failed, **self.coding
        )
        del raw
        found += check_against_patients("labs", labs, self.patients, self.site)
        problems += _name_date_columns(found, converted)
        if found or "patient_id" not in self.patients.columns:
            # patients.csv without its key has its own problem: the labs are checked on their
            # own (above) but not against patients or for plausibility.
            return CheckedBlock(problems)
        try:
            response = response_labs(labs, label)
        except InputError as err:  # an unknown unit of a response test, an IFE not 0/1
            return CheckedBlock(problems + err.problems)
        return CheckedBlock(
            problems,
            labs,
            response,
            data_quality({"labs": labs}),
            lab_block_findings(labs, self.patients, self.site),
        )


@dataclass
class _BlockJob:
    check: LabBlockCheck
    blocks: PatientBlocks
    derive: Callable


#: The job of a worker process of :meth:`SiteCheck.derive_lab_blocks`.
_JOB: _BlockJob | None = None


def _start_worker(job: _BlockJob) -> None:
    global _JOB
    _JOB = job


def _derive_block(block: int) -> tuple[CheckedBlock, object]:
    """In a worker: check one block and derive from it when it is valid."""
    from rwe.io import return_freed_memory

    checked = _JOB.check(_JOB.blocks.block(block))
    result = None
    if not checked.problems:
        result = _JOB.derive(checked.labs, checked.response_labs, block)
    checked.labs = checked.response_labs = None  # not sent back
    return_freed_memory()
    return checked, result


class SiteCheck:
    """One site's folder read and validated as the workflow's site job does, labs block by block.

    A laboratory file larger than ``block_bytes`` is split into blocks of whole patients
    (:func:`rwe.blocks.split_by_patient`, in a temporary folder removed on exit) and validated
    one block at a time, so the memory needed grows with a block, not with the file. Use as a
    context manager::

        with SiteCheck(folder, site, **options) as checked:
            for labs, response_labs in checked.lab_blocks():
                ...  # derive from each validated block
            findings = checked.finish()  # raises InputError listing every problem

    or :meth:`derive_lab_blocks` to derive from the blocks in several processes.

    Parameters
    ----------
    folder : str or pathlib.Path
        The site's extract folder.
    site : str
        The site's name.
    coding : dict, optional
        The site's harmonisation (:func:`rwe.config.site_coding`): ``regimen_aliases`` (shared
        and the site's own), ``response_aliases``, ``sex_aliases``, ``lab_units``, ``dates``.
    allow_extra_columns, max_day
        As in :func:`validate_site`.
    on_implausible : {"warn", "stop"}
        What an implausible value does (:func:`rwe.plausibility.raise_if_stop`).
    block_bytes : int, optional
        Size of a laboratory block (default :data:`rwe.blocks.BLOCK_BYTES`).

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        The validated tables other than the labs (:func:`validate_site`).
    inputs : list of dict
        What was read (:func:`rwe.io.read_site`).
    has_labs : bool
        Whether the site sent ``labs.csv``.
    """

    def __init__(
        self,
        folder,
        site: str,
        coding: dict | None = None,
        allow_extra_columns: bool = False,
        max_day: int = DEFAULT_MAX_DAY,
        on_implausible: str = "warn",
        block_bytes: int = 0,
    ):
        self.folder, self.site, self.on_implausible = folder, site, on_implausible
        self.coding = dict(coding or {})
        self.dates = self.coding.pop("dates", False)
        self.allow_extra_columns, self.max_day, self.block_bytes = (
            allow_extra_columns,
            max_day,
            block_bytes,
        )
        self._spill = None

    def __enter__(self) -> SiteCheck:
        from rwe.io import read_site

        self._spill = tempfile.TemporaryDirectory(prefix="rwe-labs-")
        try:
            raw, self.inputs = read_site(self.folder, self.site, self._spill.name, self.block_bytes)
        except BaseException:
            self.__exit__()  # not called when __enter__ raises
            raise
        self._labs = raw.pop("labs", None)
        self.has_labs = self._labs is not None
        self._n_blocks = len(self._labs) if isinstance(self._labs, PatientBlocks) else 1
        options = {**self.coding, "regimen_aliases": self.coding.get("regimen_aliases", {})}
        self.tables, self.problems = validate_site(
            raw,
            self.site,
            allow_extra_columns=self.allow_extra_columns,
            dates=self.dates,
            max_day=self.max_day,
            **options,
        )
        # Dates of the labs are days from the patients' start_date: their raw table is kept.
        self._raw_patients = raw.get("patients") if self.dates else None
        self._findings = []
        self._quality = []
        return self

    def __exit__(self, *exc) -> None:
        if self._spill is not None:
            self._spill.cleanup()
            self._spill = None

    @property
    def n_blocks(self) -> int:
        """Blocks the laboratory file is validated in (1: read whole, or no file)."""
        return self._n_blocks

    @property
    def scratch(self) -> str:
        """A temporary folder of this check (the blocks), removed with it."""
        return self._spill.name

    def lab_blocks(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """Validate the laboratory file block by block.

        Yields
        ------
        labs : pandas.DataFrame
            A validated block of whole patients (one block: the whole file), in harmonised
            units; a site without ``labs.csv`` gives one empty table.
        response_labs : pandas.DataFrame
            Its IMWG response tests (:func:`rwe.imwg.response_labs`).

        Every block is validated; once a problem has been found (in any file) the blocks are
        still checked, so that :meth:`finish` lists every problem, but no longer yielded.
        """
        from rwe.imwg import response_labs
        from rwe.io import return_freed_memory

        if not self.has_labs:
            if not self.problems:
                labs = empty_table("labs")
                yield labs, response_labs(labs, f"{self.site}/labs.csv")
            return
        check = self._block_check()
        for raw in self._raw_blocks():
            checked = check(raw)
            del raw
            self._add(checked)
            if not self.problems:
                yield checked.labs, checked.response_labs
            del checked
            return_freed_memory()  # what the block's temporaries held, back to the system

    def derive_lab_blocks(self, derive: Callable, workers: int = 1) -> Iterator:
        """Validate every laboratory block and derive from each valid one, in parallel.

        Parameters
        ----------
        derive : callable
            ``derive(labs, response_labs, block)`` for each valid block (``block`` its number);
            picklable (a module-level function or a ``functools.partial`` of one), as it runs in
            the worker processes. It should write what it makes rather than return it whole.
        workers : int
            Processes validating and deriving blocks side by side (fresh interpreters, each
            with one copy of the validated patients); 1, or a file of one block: in this one.

        Yields
        ------
        object
            What ``derive`` returned, block after block (in block order, each as soon as it and
            those before it are done). Once a problem has been found (anywhere in the site) no
            more is yielded, the blocks are still checked, and :meth:`finish` raises.
        """
        if workers <= 1 or self._n_blocks == 1:
            for block, (labs, response) in enumerate(self.lab_blocks()):
                yield derive(labs, response, block)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        job = _BlockJob(self._block_check(), self._labs, derive)
        self._labs = None
        spawn = multiprocessing.get_context("spawn")  # not fork: no copy of this process
        with ProcessPoolExecutor(
            workers, spawn, initializer=_start_worker, initargs=(job,)
        ) as pool:
            for checked, result in pool.map(_derive_block, range(self._n_blocks)):
                self._add(checked)
                if not self.problems:
                    yield result

    def _block_check(self) -> LabBlockCheck:
        return LabBlockCheck(
            site=self.site,
            fields=contract(max_day=self.max_day)["labs"],  # regimens are not the labs
            coding={k: v for k, v in self.coding.items() if k != "regimen_aliases"},
            allow_extra_columns=self.allow_extra_columns,
            patients=self.tables["patients"],
            raw_patients=self._raw_patients,
        )

    def _raw_blocks(self) -> Iterator[pd.DataFrame]:
        blocks = self._labs if isinstance(self._labs, PatientBlocks) else [self._labs]
        self._labs = None  # a whole table is released once validated
        yield from blocks

    def _add(self, checked: CheckedBlock) -> None:
        """A checked block's problems, and the counts of a valid one."""
        self.problems += checked.problems
        if checked.data_quality is not None:
            self._quality.append(checked.data_quality)
            self._findings.append(checked.findings)

    def finish(self) -> pd.DataFrame:
        """Every problem of the site at once, or its plausibility findings.

        Call after iterating :meth:`lab_blocks` to the end.

        Returns
        -------
        pandas.DataFrame
            The plausibility checks of the validated tables
            (:func:`rwe.plausibility.plausibility_findings`, the blocks' counts summed).

        Raises
        ------
        InputError
            Every problem of every file of the site (each listed once, by file, row and
            column), and implausible values with ``on_implausible: stop``.
        """
        from rwe.plausibility import combine_findings, plausibility_findings, raise_if_stop

        if self.problems:
            problems = list(dict.fromkeys(self.problems))  # a block repeats a column's problem
            problems.sort(
                key=lambda p: (p.file, p.row if p.row is not None else -1, p.column or "")
            )
            raise InputError(problems)
        # Checked once the tables are known to be valid (a missing column is no finding).
        findings = combine_findings([plausibility_findings(self.tables), *self._findings])
        raise_if_stop(findings, self.on_implausible)
        return findings

    def data_quality(self) -> pd.DataFrame:
        """Missingness of every column of every file (:func:`rwe.derive.data_quality`)."""
        from rwe.derive import combine_data_quality, data_quality

        return combine_data_quality([data_quality(self.tables), *self._quality])


def check_site(
    folder, site: str, keep_labs: bool = True, **options
) -> tuple[dict[str, pd.DataFrame], list[dict], pd.DataFrame]:
    """Read and validate one site's folder: the workflow's site job and ``rwe check`` alike.

    Parameters
    ----------
    folder, site
        As in :class:`SiteCheck`.
    keep_labs : bool
        Return the validated laboratory table (all its blocks); ``False`` checks it block by
        block without holding it.
    **options
        ``coding``, ``allow_extra_columns``, ``max_day``, ``on_implausible``, ``block_bytes``
        (:class:`SiteCheck`; :func:`rwe.config.site_options` gives a site's).

    Returns
    -------
    typed : dict of str to pandas.DataFrame
        The validated tables (:func:`validate_extract`), plus ``response_labs`` (the IMWG
        response tests in harmonised units, :func:`rwe.imwg.response_labs`) when ``keep_labs``.
    inputs : list of dict
        What was read (:func:`rwe.io.read_site`).
    findings : pandas.DataFrame
        The plausibility checks of the validated tables (:func:`rwe.plausibility.check_extract`).

    Raises
    ------
    InputError
        Every problem of every file of the site (and implausible values with ``stop``).
    """
    with SiteCheck(folder, site, **options) as checked:
        blocks = []
        for block in checked.lab_blocks():
            if keep_labs:
                blocks.append(block)
        findings = checked.finish()
        typed = dict(checked.tables)
        if keep_labs:
            if checked.has_labs:
                typed["labs"] = _pool([labs for labs, _ in blocks])
            typed["response_labs"] = _pool([response for _, response in blocks])
        return typed, checked.inputs, findings


def _pool(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the sites' tables, keeping text columns categorical (with every category)."""
    if len(parts) == 1:
        if isinstance(parts[0].index, pd.RangeIndex) and parts[0].index.start == 0:
            return parts[0]  # already numbered 0..n-1: no copy
        return parts[0].reset_index(drop=True)
    if any(list(part.columns) != list(parts[0].columns) for part in parts):
        return pd.concat(parts, ignore_index=True)  # a column only some sites sent
    columns = {}
    for col in parts[0].columns:
        pieces = [part[col] for part in parts]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces):
            columns[col] = pd.Series(union_categoricals([p.array for p in pieces]))
        else:
            columns[col] = pd.concat(pieces, ignore_index=True)
    return pd.DataFrame(columns)


def empty_table(stem: str) -> pd.DataFrame:
    """A typed table with the contract's columns and no rows (for a file a site did not send)."""
    fields = contract()[stem]
    columns = {"site": pd.Series(dtype=object)}
    for f in fields:
        dtype = {"int": "Int64", "float": "float64"}.get(f.kind, object)
        columns[f.name] = pd.Series(dtype=dtype)
    columns["_row"] = pd.Series(dtype="Int64")
    return pd.DataFrame(columns)
