"""SVG markup for the server-rendered pictures (timeline, MRD kinetics): escaped text,
compact numbers, presentation attributes only (no style=, nothing executable)."""

import re
import zlib
from xml.sax.saxutils import escape, quoteattr

# Characters XML 1.0 does not allow (and lone surrogates): replaced so the output stays well-formed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(value: object) -> str:
    return NOT_XML.sub("\ufffd", str(value))


def element_text(value: object) -> str:
    """Escaped element text."""
    return escape(clean(value))


def number(value: float) -> str:
    """A coordinate: at most 2 decimals, no trailing zeros, no '-0'."""
    shown = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def attributes(values: dict[str, object]) -> str:
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            raise TypeError(f"attribute {name}: booleans are not attribute values")
        shown = number(value) if isinstance(value, int | float) else clean(value)
        parts.append(f" {name}={quoteattr(shown)}")
    return "".join(parts)


def tag(name: str, values: dict[str, object], content: str | None = None) -> str:
    if content is None:
        return f"<{name}{attributes(values)}/>"
    return f"<{name}{attributes(values)}>{content}</{name}>"


def tooltip(label: str) -> str:
    return f"<title>{element_text(label)}</title>"


# --- Shared by the timeline and the MRD kinetics plot -----------------------------------

# One look for both pictures: the same font, and a phase has the same colours on both.
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"
FONT_SIZE = 11
CHAR_WIDTH = 0.56  # average glyph width / font size, to estimate text widths
# (fill, stroke) of the phases; known phase names first, then by prefix, then by hash.
PHASE_COLOURS: dict[str, tuple[str, str]] = {
    "pre-induction": ("#c7d2fe", "#4338ca"),
    "induction i": ("#bae6fd", "#0369a1"),
    "induction ii": ("#bbf7d0", "#15803d"),
    "consolidation": ("#fde68a", "#b45309"),
    "maintenance": ("#fbcfe8", "#be185d"),
    "follow-up": ("#e5e7eb", "#4b5563"),
}
PHASE_PREFIX_COLOURS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("consolidation", ("#fde68a", "#b45309")),
    ("maintenance", ("#fbcfe8", "#be185d")),
    ("follow", ("#e5e7eb", "#4b5563")),
)
PHASE_FALLBACK_COLOURS: tuple[tuple[str, str], ...] = (
    ("#ddd6fe", "#6d28d9"),
    ("#fed7aa", "#c2410c"),
    ("#a5f3fc", "#0e7490"),
    ("#d9f99d", "#4d7c0f"),
    ("#fecdd3", "#be123c"),
)


def day_label(day: float) -> str:
    """A study day for people: 12, 20.5, -3."""
    if float(day).is_integer():
        return str(int(day))
    return number(day)


def days_label(first: float, last: float | None) -> str:
    if last is None:
        return f"from day {day_label(first)} (ongoing)"
    if last == first:
        return f"day {day_label(first)}"
    return f"days {day_label(first)}\u2013{day_label(last)}"


def fit(text: str, room: float, size: float = FONT_SIZE) -> str:
    """The text, shortened with an ellipsis to about `room` pixels; '' if not even 2 chars fit."""
    if text_width(text, size) <= room:
        return text
    chars = int(room // (size * CHAR_WIDTH)) - 1
    return text[:chars] + "\u2026" if chars >= 2 else ""


def phase_colours(name: str) -> tuple[str, str]:
    key = name.strip().lower()
    if key in PHASE_COLOURS:
        return PHASE_COLOURS[key]
    for prefix, colours in PHASE_PREFIX_COLOURS:
        if key.startswith(prefix):
            return colours
    return PHASE_FALLBACK_COLOURS[zlib.crc32(key.encode("utf-8")) % len(PHASE_FALLBACK_COLOURS)]


def points(*points: tuple[float, float]) -> str:
    return " ".join(f"{number(x)},{number(y)}" for x, y in points)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * size * CHAR_WIDTH


def svg_document(
    prefix: str, width: int, height: int, title: str, desc: str, body: str, *, css_class: str
) -> str:
    """The <svg> root of a picture: an image role labelled by its own <title> and <desc>."""
    root = attributes(
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "role": "img",
            "aria-labelledby": f"{prefix}-title {prefix}-desc",
            "class": css_class,
            "width": width,
            "height": height,
            "viewBox": f"0 0 {width} {height}",
            "font-family": FONT_FAMILY,
            "font-size": FONT_SIZE,
        }
    )
    return (
        f"<svg{root}>"
        + tag("title", {"id": f"{prefix}-title"}, element_text(title))
        + tag("desc", {"id": f"{prefix}-desc"}, element_text(desc))
        + body
        + "</svg>"
    )
