"""charts.legend (entry widths, wrapping, markup) and charts.colours (phase colours)."""

import xml.etree.ElementTree as ET

import pytest

from charts import colours, legend
from charts.text import text_width

pytestmark = pytest.mark.verifies("UR-REC-05", "UR-MRD-03")


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output, parsed to check it is well-formed


@pytest.mark.parametrize(
    ("text", "text_x", "gap"),
    [("today", 22, 14), ("1E-4 threshold", 24, 16), ("", 22, 14)],
)
def test_entry_width_is_symbol_text_and_gap(text, text_x, gap):
    assert legend.entry_width(text, text_x, gap) == pytest.approx(
        text_x + text_width(text, 10) + gap
    )


@pytest.mark.parametrize(
    ("widths", "left", "top", "right", "placed"),
    [
        ([], 10, 5, 120, []),
        ([50, 50], 10, 5, 120, [(10, 5), (60, 5)]),  # one row
        ([50, 50, 50], 10, 5, 120, [(10, 5), (60, 5), (10, 23)]),  # the third wraps
        ([50, 50, 10], 10, 5, 120, [(10, 5), (60, 5), (110, 5)]),  # ends exactly at `right`
        ([500, 20], 0, 0, 100, [(0, 0), (0, 18)]),  # too wide: alone in its row, not dropped
        ([60, 60, 60, 60], 0, 2.5, 130, [(0, 2.5), (60, 2.5), (0, 20.5), (60, 20.5)]),
    ],
)
def test_flow_wraps_entries_to_the_width(widths, left, top, right, placed):
    assert legend.flow(widths, left, top, right, 18) == placed


@pytest.mark.parametrize("css_class", [None, "legend-entry legend-threshold"])
def test_entry_markup(css_class):
    symbol = '<circle cx="8" cy="0" r="5"/>'
    g = parse(legend.entry(40.125, 7, symbol, "PNQ <below> & co", text_x=24, css_class=css_class))
    assert g.get("class") == css_class
    assert g.get("transform") == "translate(40.12,7)"
    circle, label = list(g)
    assert circle.tag == "circle"
    assert label.text == "PNQ <below> & co"
    assert (label.get("x"), label.get("font-size")) == ("24", "10")


def test_legend_group():
    g = parse(legend.legend(["<g/>", "<text>key</text>"]))
    assert g.get("class") == "legend" and [c.tag for c in g] == ["g", "text"]


@pytest.mark.parametrize(
    ("name", "pair"),
    [
        ("Pre-Induction", ("#c7d2fe", "#4338ca")),
        ("induction i", ("#bae6fd", "#0369a1")),
        (" Induction II ", ("#bbf7d0", "#15803d")),
        ("Consolidation III", ("#fde68a", "#b45309")),  # by prefix
        ("Maintenance", ("#fbcfe8", "#be185d")),
        ("Follow-up", ("#e5e7eb", "#4b5563")),
        ("Follow-up (long term)", ("#e5e7eb", "#4b5563")),  # by prefix
    ],
)
def test_known_phases_have_their_colours(name, pair):
    assert colours.phase_colours(name) == pair


@pytest.mark.parametrize("name", ["Salvage", "HSCT conditioning", "<script>", ""])
def test_other_phases_get_a_stable_fallback_pair(name):
    pair = colours.phase_colours(name)
    assert pair in colours.PHASE_FALLBACK_COLOURS
    assert colours.phase_colours(name.upper()) == pair  # case does not matter
    assert colours.phase_colours(name) == pair


def test_phase_names_of_the_protocol_all_have_their_own_colours():
    from protocol.schedule import PhaseName

    pairs = [colours.phase_colours(name.value) for name in PhaseName]
    assert all(name.value.lower() in colours.PHASE_COLOURS for name in PhaseName)
    assert len(set(pairs)) == len(pairs)
