"""charts.svg and charts.text: numbers, escaping, tags, the document root, text widths."""

import xml.etree.ElementTree as ET

import pytest

from charts import svg, text

pytestmark = pytest.mark.verifies("UR-REC-05", "UR-MRD-03")

SVG = "{http://www.w3.org/2000/svg}"

HOSTILE = (
    "<script>alert(1)</script>",
    '"onload="alert(1)',
    "' onclick='alert(2)' x='",
    "</text><script>alert(3)</script>",
    "a & b ]]> <!-- x -->",
    "both ' and \" quotes",
    "bell\x07 and nul\x00",
    "lone surrogate \ud800 and \ufffe",
)


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output, parsed to check it is well-formed


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (7, "7"),
        (100, "100"),
        (1.0, "1"),
        (1.5, "1.5"),
        (-3.10, "-3.1"),
        (12.3456, "12.35"),
        (0.004, "0"),
        (-0.001, "0"),
        (-0.006, "-0.01"),
        (1e-9, "0"),
        (104.125, "104.12"),  # 2 decimals, rounded as Python rounds the float
    ],
)
def test_number_has_at_most_two_decimals_and_no_trailing_zeros(value, shown):
    assert svg.number(value) == shown


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("plain", "plain"),
        ("<script>", "&lt;script&gt;"),
        ("a & b", "a &amp; b"),
        ('" onmouseover="x', "&quot; onmouseover=&quot;x"),  # as typed nowhere in the page
        ("]]>", "]]&gt;"),
        ("nul\x00", "nul\ufffd"),
        ("tab\tnewline\n", "tab\tnewline\n"),  # allowed in XML, kept
        ("\ud800", "\ufffd"),
        ("\uffff", "\ufffd"),
        (12, "12"),
    ],
)
def test_element_text_escapes_markup_and_replaces_what_xml_forbids(value, escaped):
    assert svg.element_text(value) == escaped


@pytest.mark.verifies("UR-ACC-05")
def test_attribute_values_are_double_quoted_with_their_quotes_escaped():
    markup = svg.tag("g", {"data-label": '" onmouseover="x\' y'})
    assert markup == '<g data-label="&quot; onmouseover=&quot;x\' y"/>'


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_stays_one_attribute_and_one_text_node(hostile):
    markup = svg.tag("text", {"data-label": hostile, "x": 1}, svg.element_text(hostile))
    el = parse(markup)
    cleaned = svg.clean(hostile)
    assert el.tag == "text"
    assert el.attrib == {"data-label": cleaned, "x": "1"}
    assert el.text == cleaned
    assert list(el) == []  # no child element smuggled in


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_tooltip_is_only_text(hostile):
    el = parse(svg.tooltip(hostile))
    assert el.tag == "title" and list(el) == [] and el.text == svg.clean(hostile)


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({}, ""),
        ({"x": 1.5, "y": 0}, ' x="1.5" y="0"'),
        ({"class": None, "fill": "#fff"}, ' fill="#fff"'),  # None: left out
        ({"d": "<&>"}, ' d="&lt;&amp;&gt;"'),
    ],
)
def test_attributes(values, shown):
    assert svg.attributes(values) == shown


def test_booleans_are_not_attribute_values():
    with pytest.raises(TypeError):
        svg.attributes({"hidden": True})


@pytest.mark.parametrize(
    ("args", "markup"),
    [
        (("line", {"x1": 0, "x2": 2.5}), '<line x1="0" x2="2.5"/>'),
        (("g", {"class": "tick"}, ""), '<g class="tick"></g>'),
        (("text", {}, "a &amp; b"), "<text>a &amp; b</text>"),
    ],
)
def test_tag(args, markup):
    assert svg.tag(*args) == markup


def test_points():
    assert svg.points((0, 0), (1.005, -2.5), (10, 3.333)) == "0,0 1,-2.5 10,3.33"


@pytest.mark.verifies("UR-OPS-03")
def test_document_root_is_an_image_labelled_by_its_title_and_description():
    markup = svg.svg_document(
        "p-1", 400, 64, "<b>title</b>", "desc & more", "<g/>", css_class="timeline"
    )
    root = parse(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("class") == "timeline"
    assert root.get("viewBox") == "0 0 400 64"
    assert root.get("font-family") == text.FONT_FAMILY
    assert root.get("aria-labelledby") == "p-1-title p-1-desc"
    assert root.find(f"{SVG}title").text == "<b>title</b>"
    assert root.find(f"{SVG}title").get("id") == "p-1-title"
    assert root.find(f"{SVG}desc").text == "desc & more"
    assert root.find(f"{SVG}g") is not None


def test_empty_panel_frames_an_escaped_message():
    root = parse(f"<g>{svg.empty_panel(300, 64, 'none <yet>')}</g>")
    rect, message = list(root)
    assert (rect.get("width"), rect.get("height")) == ("299", "63")
    assert message.get("class") == "empty"
    assert (message.get("x"), message.get("y")) == ("150", "36")
    assert message.text == "none <yet>"


@pytest.mark.parametrize(
    ("label", "size", "width"),
    [
        ("", 11, 0),
        ("12", 10, 11.2),
        ("study day", 11, 9 * 11 * text.CHAR_WIDTH),
    ],
)
def test_text_width_estimate(label, size, width):
    assert text.text_width(label, size) == pytest.approx(width)


@pytest.mark.parametrize(
    ("label", "room", "fitted"),
    [
        ("Induction II", 200, "Induction II"),  # fits
        ("Induction II", 12 * 11 * text.CHAR_WIDTH, "Induction II"),  # exactly fits
        ("Induction II", 40, "Induc\u2026"),  # room for 6 characters: 5 and an ellipsis
        ("Induction II", 19, "In\u2026"),  # room for 3 characters: 2 and an ellipsis
        ("Induction II", 12, ""),  # not even 2 characters fit
    ],
)
def test_fit_shortens_with_an_ellipsis(label, room, fitted):
    assert text.fit(label, room) == fitted
