"""The report's figures: embedded as the smaller of the compressed PNG and the SVG, captioned.

Each figure is embedded at print resolution: the PNG the figures rule wrote (``PNG_DPI``) or,
when it is smaller, its SVG (vector, any resolution) with the drawing's precision kept to
0.01 pt and its metadata dropped. Either way the page requests nothing: images are ``data:``
URIs, allowed by the page's Content-Security-Policy.
"""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from rwe.options import ReportOptions

#: Attributes of an SVG whose numbers are drawing coordinates (rounded to 0.01 pt).
GEOMETRY = re.compile(r'(\s(?:d|x|y|transform|points|width|height)=")([^"]*)(")')
DECIMAL = re.compile(r"-?\d+\.\d{3,}")
PATH_COMMAND = re.compile(r"\s*([MLCZQHVmlczqhv])\s*")
STYLE = re.compile(r'( style=")([^"]*)(")')


def _in_attribute(pattern: re.Pattern, change, svg: str) -> str:
    return pattern.sub(lambda m: m.group(1) + change(m.group(2)) + m.group(3), svg)


def svg_for_embedding(svg: str) -> str:
    """Matplotlib's SVG, smaller: no prologue, metadata, group ids or layout whitespace.

    Coordinates in geometry attributes are rounded to 0.01 pt, path commands and styles lose
    their spaces; text content is left as it is.
    """
    svg = re.sub(r"<\?xml.*?\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = _in_attribute(
        GEOMETRY,
        lambda v: DECIMAL.sub(lambda n: f"{float(n.group()):.2f}".rstrip("0").rstrip("."), v),
        svg,
    )
    svg = _in_attribute(
        re.compile(r'( d=")([^"]*)(")'), lambda v: PATH_COMMAND.sub(r"\1", v).strip(), svg
    )
    svg = _in_attribute(STYLE, lambda v: re.sub(r"([:;])\s+", r"\1", v).strip(), svg)
    svg = re.sub(r'<g id="[^"]*">', "<g>", svg)  # group ids are never referenced
    svg = re.sub(r">\s+<", "><", svg.strip())
    return re.sub(r"\s*\n\s*", " ", svg)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG in pixels (from its IHDR chunk)."""
    return struct.unpack(">II", data[16:24])


#: What an SVG's data: URI escapes: ``%`` and ``#`` (they would change the URI), ``"`` (it would
#: end the HTML attribute) and ``&`` (it would start an HTML character reference). Everything
#: else, ``<`` and ``>`` included, is valid as it is in a double-quoted attribute.
URI_ESCAPES = str.maketrans({"%": "%25", "#": "%23", '"': "%22", "&": "%26"})


def svg_data_uri(svg: str) -> Markup:
    """``data:image/svg+xml,…`` of an SVG, safe to write into a double-quoted HTML attribute."""
    return Markup("data:image/svg+xml," + svg.translate(URI_ESCAPES))


def embedded(png: Path) -> dict:
    """``src`` (a data: URI), ``width`` and ``height`` of the smaller of ``png`` and its SVG."""
    data = png.read_bytes()
    width, height = png_size(data)
    src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    svg_path = png.with_suffix(".svg")
    if svg_path.is_file():
        svg = svg_data_uri(svg_for_embedding(svg_path.read_text("utf-8")))
        if len(svg) < len(src):
            src = svg
    return {"src": src, "width": width, "height": height}


def descriptions(options: ReportOptions) -> dict[str, str]:
    """What each kind of figure shows (after its title in the caption), from the options.

    Keyed by the figure's name up to its first ``_`` (``rates_all`` is a response figure that
    shows rates), else by its kind.
    """
    level = f"{100 * options.conf_level:g}"
    return {
        "km": f"Kaplan–Meier estimates with {level}% pointwise confidence bands on the "
        f"'{options.conf_type}' scale, the log-rank p when groups are compared, and the numbers "
        "at risk below; + marks a censored time.",
        "forest": f"Hazard ratios with {level}% Wald confidence intervals (log scale) of the "
        f"multivariable Cox model, {options.ties}, complete cases.",
        "response": "Share of the patients with an evaluable response in each IMWG "
        "best-response category, per group.",
        "rates": "Share of the patients with an evaluable response with PR or better (ORR) and "
        f"MR or better (CBR) per group, with exact {level}% Clopper–Pearson confidence intervals.",
        "nadir": "Patient-level figure: each patient's lowest count in the nadir window "
        "(Methods) is a point; boxes show the median and quartiles, whiskers reach 1.5 IQR; "
        "dashed lines mark the CTCAE v5 grade-3 thresholds.",
        "exposure": f"Probability of each outcome fitted by logistic regression with its {level}% "
        "confidence band, and the observed proportion (exact CI) below and above the median.",
        "swimmer": "Patient-level figure: one bar per patient from day 0 to last contact, "
        "with first response, progression and death marked (days from the start of therapy, "
        "no dates or identifiers).",
        "meta": f"Per-site hazard ratios with {level}% Wald confidence intervals (squares "
        "sized by their weight in the prespecified analysis) and the pooled estimates as "
        f"diamonds: the prespecified one ({options.meta_rule}) in colour with its {level}% "
        "prediction interval dotted, and the sensitivity analyses (fixed effect, random "
        "effects by DerSimonian–Laird and REML with Wald z CIs) in grey. The caption gives Q, "
        "and I² and τ² with their Q-profile CIs.",
    }


def embed_figures(
    figures: pd.DataFrame, folder: Path, options: ReportOptions
) -> dict[str, list[dict]]:
    """The figures of each report section, embedded (:func:`embedded`) and captioned.

    ``figures`` is the index of :func:`rwe.plots.make_figures` (``name, kind, section, title``
    and optionally ``file``, the path under ``folder`` without suffix).
    """
    described = descriptions(options)
    out: dict[str, list[dict]] = {}
    for f in figures.itertuples():
        stem = f.file if "file" in figures.columns else f.name
        prefix = f.name.split("_")[0]
        kind = prefix if prefix in described else getattr(f, "kind", "")
        out.setdefault(f.section, []).append(
            {
                "name": f.name,
                "title": f.title,
                "description": described.get(kind, ""),
                **embedded(folder / f"{stem}.png"),
            }
        )
    return out


#: Figure kinds that draw individual patients, as the report's privacy sentence names them.
PATIENT_LEVEL_FIGURES = {"swimmer": "the swimmer plot", "nadir": "the points of the nadir plots"}


def patient_level_figures(figures: pd.DataFrame) -> list[str]:
    """The patient-level figures the report shows (:data:`PATIENT_LEVEL_FIGURES`), by name."""
    kinds = {str(name).split("_")[0] for name in figures.get("name", [])}
    return [words for kind, words in PATIENT_LEVEL_FIGURES.items() if kind in kinds]
