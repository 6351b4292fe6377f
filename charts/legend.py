"""Legends: entries (a symbol and its text) laid out left to right, wrapped to the width."""

from __future__ import annotations

from collections.abc import Iterable

from .colours import TEXT_COLOUR
from .svg import element_text, number, tag
from .text import SMALL_FONT_SIZE, text_width

LEGEND_FONT_SIZE = SMALL_FONT_SIZE


def entry_width(text: str, text_x: float, gap: float) -> float:
    """Room taken by an entry: the symbol up to `text_x`, the text, then `gap` to the next."""
    return text_x + text_width(text, LEGEND_FONT_SIZE) + gap


def flow(
    widths: Iterable[float], left: float, top: float, right: float, row_height: float
) -> list[tuple[float, float]]:
    """(x, y) of entries of these widths placed from (left, top): an entry that would pass
    `right` starts a new row `row_height` further down, unless it is first in its row."""
    placed = []
    x, y = float(left), top
    for w in widths:
        if x + w > right and x > left:
            x, y = float(left), y + row_height
        placed.append((x, y))
        x += w
    return placed


def entry(
    x: float, y: float, symbol: str, text: str, *, text_x: float, css_class: str | None = None
) -> str:
    """An entry at (x, y): `symbol` is markup drawn around the origin, the text follows it."""
    return tag(
        "g",
        {"class": css_class, "transform": f"translate({number(x)},{number(y)})"},
        symbol
        + tag(
            "text",
            {"x": text_x, "y": 3.5, "font-size": LEGEND_FONT_SIZE, "fill": TEXT_COLOUR},
            element_text(text),
        ),
    )


def legend(parts: Iterable[str]) -> str:
    """The legend group around its entries (and any caption)."""
    return tag("g", {"class": "legend"}, "".join(parts))
