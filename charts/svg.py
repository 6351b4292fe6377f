"""SVG markup: escaped text, compact numbers, presentation attributes only (no style=, nothing
executable), and the <svg> root every picture shares."""

import re
from xml.sax.saxutils import escape

from .colours import GRID_COLOUR, MUTED_COLOUR, PANEL_COLOUR
from .text import FONT_FAMILY, FONT_SIZE

# Characters XML 1.0 does not allow (and lone surrogates): replaced so the output stays well-formed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(value: object) -> str:
    """str(value) with the characters XML cannot hold replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", str(value))


# Attribute values always in double quotes, with what would end or bend them as entities.
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def element_text(value: object) -> str:
    """Escaped element text; double quotes too, so that no user text shows its markup as
    typed (an inline SVG sits in an HTML page)."""
    return escape(clean(value), {'"': "&quot;"})


def number(value: float) -> str:
    """A coordinate: at most 2 decimals, no trailing zeros, no '-0'."""
    shown = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def attributes(values: dict[str, object]) -> str:
    """' name="value"' for each value that is not None; numbers as by `number`."""
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            raise TypeError(f"attribute {name}: booleans are not attribute values")
        shown = number(value) if isinstance(value, int | float) else clean(value)
        parts.append(f' {name}="{escape(shown, _ATTRIBUTE_ENTITIES)}"')
    return "".join(parts)


def tag(name: str, values: dict[str, object], content: str | None = None) -> str:
    """An element; `content` is markup (escape text with element_text first)."""
    if content is None:
        return f"<{name}{attributes(values)}/>"
    return f"<{name}{attributes(values)}>{content}</{name}>"


def tooltip(label: str) -> str:
    return f"<title>{element_text(label)}</title>"


def points(*points: tuple[float, float]) -> str:
    """The points= value of a polygon or polyline."""
    return " ".join(f"{number(x)},{number(y)}" for x, y in points)


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


def empty_panel(width: float, height: float, message: str) -> str:
    """The body of a picture with nothing to draw yet: a framed panel with a centred message."""
    return tag(
        "rect",
        {
            "x": 0.5,
            "y": 0.5,
            "width": width - 1,
            "height": height - 1,
            "rx": 4,
            "fill": PANEL_COLOUR,
            "stroke": GRID_COLOUR,
        },
    ) + tag(
        "text",
        {
            "class": "empty",
            "x": width / 2,
            "y": height / 2 + 4,
            "text-anchor": "middle",
            "fill": MUTED_COLOUR,
        },
        element_text(message),
    )
