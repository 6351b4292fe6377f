"""SVG markup for the server-rendered pictures (timeline, MRD kinetics): escaped text,
compact numbers, presentation attributes only (no style=, nothing executable)."""

import re
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
