"""The MRD kinetics picture (mrd.plot): server-rendered SVG of rules §7 results over study days.

The SVG is parsed as XML and checked for what a user sees: where the markers sit on the log
scale relative to the 1E-4 line, what they look like, what is drawn behind what, the tooltips,
and that hostile labels stay inert under a strict Content-Security-Policy.
"""

import math
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from mrd.plot import MrdPoint, PhaseBand, render_kinetics_svg

pytestmark = pytest.mark.verifies("UR-MRD-03")

SVG = "{http://www.w3.org/2000/svg}"
SHAPES = (f"{SVG}circle", f"{SVG}polygon", f"{SVG}rect", f"{SVG}line", f"{SVG}polyline")


def near(value: float):
    """Coordinates are written with 2 decimals."""
    return pytest.approx(value, abs=0.02)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def sample_points() -> list[MrdPoint]:
    """The brief's subject: PNQ at D40 and W11 (NGS negative), positive at W18, then negative."""
    return [
        MrdPoint(40, "pnq", label="D40 qPCR PNQ"),
        MrdPoint(74, "pnq", label="W11 qPCR PNQ"),
        MrdPoint(74, "negative", sensitivity=Decimal("1E-5"), label="W11 NGS neg", method="ngs"),
        MrdPoint(122, "quantifiable", value=Decimal("2.3E-4"), label="W18 qPCR 2.3E-4"),
        MrdPoint(200, "negative", sensitivity=Decimal("1E-4"), label="FU qPCR negative"),
    ]


def sample_phases() -> list[PhaseBand]:
    return [
        PhaseBand("Induction I", 12, 40),
        PhaseBand("Induction II", 50, 70),
        PhaseBand("Consolidation", 71, 200),
    ]


def render(points=None, phases=None, **kwargs) -> ET.Element:
    points = sample_points() if points is None else points
    phases = sample_phases() if phases is None else phases
    return parse(render_kinetics_svg(points, phases, **kwargs))


def q(day: float, value: str, label: str = "", method: str = "qpcr") -> MrdPoint:
    return MrdPoint(day, "quantifiable", value=Decimal(value), label=label or value, method=method)


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in classes(g)]


def points_of(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-label"): g for g in groups(root, "mrd-point")}


def title_of(el: ET.Element) -> str:
    title = el.find(f"{SVG}title")
    assert title is not None, f"{el.get('class')} has no <title>"
    return title.text or ""


def marker(g: ET.Element) -> ET.Element:
    (shape,) = [el for el in g if "marker" in classes(el)]
    return shape


def centre(g: ET.Element) -> tuple[float, float]:
    """The centre of a result's marker: circle centre or polygon bounding box centre."""
    shape = marker(g)
    if shape.tag == f"{SVG}circle":
        return float(shape.get("cx")), float(shape.get("cy"))
    xs, ys = zip(
        *((float(a), float(b)) for a, b in (p.split(",") for p in shape.get("points").split())),
        strict=True,
    )
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def threshold_y(root: ET.Element) -> float:
    (threshold,) = groups(root, "threshold")
    line = threshold.find(f"{SVG}line")
    assert line.get("y1") == line.get("y2"), "the threshold line is horizontal"
    assert line.get("stroke-dasharray"), "the threshold line is dashed"
    return float(line.get("y1"))


def decades(root: ET.Element) -> dict[str, float]:
    """Decade label -> y of its tick."""
    result = {}
    for g in groups(root, "decade"):
        line, text = g.find(f"{SVG}line"), g.find(f"{SVG}text")
        result[text.text] = float(line.get("y1"))
    return result


def baseline_y(root: ET.Element) -> float:
    """The x axis: the horizontal axis line whose ticks carry the study days."""
    (tick, *_) = groups(root, "tick")
    return float(tick.find(f"{SVG}line").get("y1"))


def polyline_points(el: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in el.get("points").split()]


def kinetics_line(root: ET.Element) -> list[tuple[float, float]]:
    (line,) = [el for el in root.iter(f"{SVG}polyline") if "mrd-line" in classes(el)]
    return polyline_points(line)


def all_text(el: ET.Element) -> str:
    return " ".join(t.strip() for t in el.itertext())


def is_open(shape: ET.Element) -> bool:
    return shape.get("fill", "").lower() in ("none", "#fff", "#ffffff", "white")


# --- document -----------------------------------------------------------------------------------


@pytest.mark.verifies("UR-OPS-03")
def test_root_is_an_accessible_svg_image_with_title_and_description():
    root = render()
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert (root.get("width"), root.get("height")) == ("720", "300")
    assert root.get("viewBox") == "0 0 720 300"
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    labelled_by = root.get("aria-labelledby").split()
    assert [ids[i].tag for i in labelled_by] == [f"{SVG}title", f"{SVG}desc"]
    assert "MRD" in ids[labelled_by[0]].text
    desc = ids[labelled_by[1]].text
    for expected in ("log scale", "1E-4", "W18 qPCR 2.3E-4", "Induction II", "50\u201370"):
        assert expected in desc


def test_everything_stays_inside_the_picture():
    for width, height in ((400, 220), (720, 300), (1200, 400)):
        root = render(width=width, height=height)
        for el in root.iter():
            for attr in ("x", "x1", "x2", "cx"):
                if el.get(attr) is not None:
                    assert -1 <= float(el.get(attr)) <= width + 1, (el.tag, attr, el.get(attr))
            for attr in ("y", "y1", "y2", "cy"):
                if el.get(attr) is not None:
                    assert -1 <= float(el.get(attr)) <= height + 1, (el.tag, attr, el.get(attr))


def test_ids_are_unique_and_differ_between_pictures():
    first = render()
    ids = [el.get("id") for el in first.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    second = render(points=sample_points()[:-1])
    assert not set(ids) & {el.get("id") for el in second.iter() if el.get("id")}


# --- the log scale and the threshold ------------------------------------------------------------


def test_threshold_line_is_at_the_level_of_a_1e_4_result():
    root = render(points=[q(40, "1E-4", "at"), q(70, "1E-3", "above"), q(100, "1E-5", "below")])
    found = points_of(root)
    y_threshold = threshold_y(root)
    assert centre(found["at"])[1] == near(y_threshold)
    assert centre(found["above"])[1] < y_threshold  # higher MRD is higher up
    assert centre(found["below"])[1] > y_threshold
    # a log scale: each decade is the same height
    above, at, below = (centre(found[k])[1] for k in ("above", "at", "below"))
    assert at - above == pytest.approx(below - at, abs=0.05)
    (threshold,) = groups(root, "threshold")
    assert "1E-4" in all_text(threshold)
    assert "1E-4" in title_of(threshold)


def test_values_between_decades_sit_between_them():
    root = render(points=[q(40, "2.3E-4", "a"), q(70, "0.0005", "b")])
    ticks = decades(root)
    a, b = (centre(points_of(root)[k])[1] for k in ("a", "b"))
    per_decade = ticks["1E-4"] - ticks["1E-3"]
    assert a == near(ticks["1E-4"] - math.log10(2.3) * per_decade)
    assert b == near(ticks["1E-4"] - math.log10(5) * per_decade)


def test_decade_ticks_in_lab_notation_follow_the_data_and_always_show_the_threshold():
    root = render(points=[q(40, "2E-2")])
    labels = list(decades(root))
    assert "1E-2" in labels and "1E-4" in labels
    assert all(label == "1" or label.startswith("1E-") for label in labels)
    ys = [decades(root)[label] for label in labels]
    assert ys == sorted(ys) or ys == sorted(ys, reverse=True)
    # deep negatives extend the axis down; the threshold stays visible
    root = render(points=[MrdPoint(40, "negative", sensitivity=Decimal("1E-6"), label="deep")])
    assert {"1E-6", "1E-4"} <= set(decades(root))
    assert centre(points_of(root)["deep"])[1] == near(decades(root)["1E-6"])
    assert threshold_y(root) == near(decades(root)["1E-4"])


def test_scale_is_clamped_to_1e_7_and_1():
    root = render(points=[q(40, "5", "huge"), q(70, "1E-9", "tiny")])
    ticks = decades(root)
    assert set(ticks) == {"1", "1E-1", "1E-2", "1E-3", "1E-4", "1E-5", "1E-6", "1E-7"}
    found = points_of(root)
    assert centre(found["huge"])[1] == near(ticks["1"])
    assert centre(found["tiny"])[1] == near(ticks["1E-7"])
    # the tooltip keeps the real value
    assert "5" in title_of(found["huge"]) and "1E-9" in title_of(found["tiny"])


def test_a_different_threshold_moves_the_line_and_its_label():
    root = render(points=[q(40, "1E-3", "a")], threshold=Decimal("1E-3"))
    assert threshold_y(root) == near(centre(points_of(root)["a"])[1])
    assert "1E-3" in all_text(groups(root, "threshold")[0])


# --- markers ------------------------------------------------------------------------------------


def test_negatives_are_open_markers_at_their_sensitivity_pointing_down():
    root = render(
        points=[
            q(40, "1E-5", "quantifiable at 1E-5"),
            MrdPoint(70, "negative", sensitivity=Decimal("1E-5"), label="neg"),
            MrdPoint(90, "negative", sensitivity=Decimal("1E-4"), label="neg4"),
        ]
    )
    found = points_of(root)
    neg = found["neg"]
    assert is_open(marker(neg))
    assert not is_open(marker(found["quantifiable at 1E-5"]))
    assert centre(neg)[1] == near(centre(found["quantifiable at 1E-5"])[1])
    assert centre(found["neg4"])[1] == near(threshold_y(root))
    # a small arrow below the circle: "below this level"
    (arrow,) = [el for el in neg.iter(f"{SVG}polyline")]
    (left, tip, right) = polyline_points(arrow)
    assert tip[1] > left[1] and tip[1] > right[1] and tip[1] > centre(neg)[1]
    assert "negative" in title_of(neg) and "1E-5" in title_of(neg)


def test_pnq_looks_different_from_quantifiable_and_sits_at_its_range():
    root = render(
        points=[
            q(40, "5E-5", "q"),
            MrdPoint(60, "pnq", label="pnq default"),
            MrdPoint(80, "pnq", quantitative_range=Decimal("5E-5"), label="pnq 5E-5"),
        ]
    )
    found = points_of(root)
    pnq, quantifiable = marker(found["pnq default"]), marker(found["q"])
    assert (pnq.tag, pnq.get("fill")) != (quantifiable.tag, quantifiable.get("fill"))
    assert pnq.tag == f"{SVG}polygon"  # a triangle
    assert len(pnq.get("points").split()) == 3
    assert pnq.get("stroke") != quantifiable.get("fill")
    assert centre(found["pnq default"])[1] == near(threshold_y(root))  # default range 1E-4
    assert centre(found["pnq 5E-5"])[1] == near(centre(found["q"])[1])
    assert "not quantifiable" in title_of(found["pnq 5E-5"])
    assert "5E-5" in title_of(found["pnq 5E-5"])


def test_ngs_results_are_drawn_differently_from_qpcr_and_explained_in_the_legend():
    for kind in ("quantifiable", "negative", "pnq"):
        value = Decimal("1E-3") if kind == "quantifiable" else None
        sensitivity = Decimal("1E-5") if kind == "negative" else None
        qpcr = MrdPoint(40, kind, value=value, sensitivity=sensitivity, label="qpcr")
        ngs = MrdPoint(80, kind, value=value, sensitivity=sensitivity, label="ngs", method="ngs")
        root = render(points=[qpcr, ngs])
        found = points_of(root)
        assert centre(found["qpcr"])[1] == near(centre(found["ngs"])[1])

        def look(g):
            return sorted(
                (el.tag, el.get("fill"), el.get("r")) for el in g.iter() if el.tag in SHAPES
            )

        assert look(found["qpcr"]) != look(found["ngs"]), kind
        assert "NGS" in title_of(found["ngs"]) and "qPCR" in title_of(found["qpcr"])
        (legend,) = groups(root, "legend")
        assert "NGS" in all_text(legend)
    (legend,) = groups(render(points=[q(40, "1E-3")]), "legend")
    assert "NGS" not in all_text(legend)


def test_not_evaluable_results_are_grey_crosses_on_the_baseline_and_not_joined():
    root = render(
        points=[
            q(40, "1E-3", "a"),
            MrdPoint(60, "not_evaluable", label="no target"),
            q(80, "1E-4", "b"),
        ]
    )
    found = points_of(root)
    cross = found["no target"]
    lines = list(cross.iter(f"{SVG}line"))
    assert len(lines) == 2
    mid_y = [(float(ln.get("y1")) + float(ln.get("y2"))) / 2 for ln in lines]
    assert mid_y == [near(baseline_y(root))] * 2
    assert all(ln.get("stroke") == "#9ca3af" for ln in lines)
    assert "not evaluable" in title_of(cross) and "day 60" in title_of(cross)
    assert kinetics_line(root) == [
        pytest.approx(centre(found["a"]), abs=0.02),
        pytest.approx(centre(found["b"]), abs=0.02),
    ]


def test_legend_names_the_classes_shown():
    (legend,) = groups(render(), "legend")
    text = all_text(legend)
    for expected in ("negative", "PNQ", "quantifiable", "NGS", "1E-4"):
        assert expected in text
    assert "not evaluable" not in text


# --- the kinetics line and the days -------------------------------------------------------------


def test_line_joins_the_plotted_results_in_day_order():
    points = sample_points()
    root = render(points=list(reversed(points)))  # given in any order
    found = points_of(root)
    line = kinetics_line(root)
    # same-day results keep their given order: reversed here, so NGS negative before qPCR PNQ
    expected = [
        "D40 qPCR PNQ",
        "W11 NGS neg",
        "W11 qPCR PNQ",
        "W18 qPCR 2.3E-4",
        "FU qPCR negative",
    ]
    assert line == [pytest.approx(centre(found[label]), abs=0.02) for label in expected]
    xs = [x for x, _ in line]
    assert xs == sorted(xs)
    # the W18 result is the only one above the line
    assert centre(found["W18 qPCR 2.3E-4"])[1] < threshold_y(root)


def test_markers_sit_on_their_study_days():
    root = render()
    found = points_of(root)
    x40, x74, x122, x200 = (
        centre(found[k])[0]
        for k in ("D40 qPCR PNQ", "W11 qPCR PNQ", "W18 qPCR 2.3E-4", "FU qPCR negative")
    )
    assert centre(found["W11 NGS neg"])[0] == near(x74)
    assert (x122 - x74) / (x74 - x40) == pytest.approx(48 / 34, rel=0.01)
    assert (x200 - x122) / (x74 - x40) == pytest.approx(78 / 34, rel=0.01)
    ticks = {
        int(g.get("data-day")): float(g.find(f"{SVG}line").get("x1")) for g in groups(root, "tick")
    }
    assert ticks[40] == near(x40)
    assert min(ticks) == 1 and max(ticks) >= 200
    assert x200 < float(root.get("width")) - 20  # a margin after the last result


def test_days_before_day_1_extend_the_axis_to_the_left():
    root = render(points=[q(-5, "1E-2", "screening"), q(40, "1E-3", "d40")], phases=[])
    ticks = {int(g.get("data-day")) for g in groups(root, "tick")}
    assert -5 in ticks
    found = points_of(root)
    assert centre(found["screening"])[0] < centre(found["d40"])[0]
    assert "day -5" in title_of(found["screening"])


# --- phases -------------------------------------------------------------------------------------


def test_phases_are_shaded_behind_the_results_with_their_names():
    root = render()
    order = list(root.iter())
    phases = groups(root, "phase")
    assert [g.get("data-label") for g in phases] == ["Induction I", "Induction II", "Consolidation"]
    first_point = min(order.index(g) for g in groups(root, "mrd-point"))
    line = next(el for el in root.iter(f"{SVG}polyline") if "mrd-line" in classes(el))
    (threshold,) = groups(root, "threshold")
    for g in phases:
        assert order.index(g) < first_point
        assert order.index(g) < order.index(line)
        assert order.index(g) < order.index(threshold)
    # each band covers its days and reaches from the top to the baseline
    found = points_of(root)
    x40 = centre(found["D40 qPCR PNQ"])[0]
    x74 = centre(found["W11 qPCR PNQ"])[0]
    bands = {g.get("data-label"): g.find(f"{SVG}rect") for g in phases}
    left = float(bands["Induction I"].get("x"))
    right = left + float(bands["Induction I"].get("width"))
    assert left < x40 < right and right < x74
    c_left = float(bands["Consolidation"].get("x"))
    assert c_left < x74 < c_left + float(bands["Consolidation"].get("width"))
    rect = bands["Consolidation"]
    assert float(rect.get("y")) + float(rect.get("height")) == near(baseline_y(root))
    assert float(rect.get("y")) < threshold_y(root) - 50
    # light shading: a pale fill, or see-through
    assert float(rect.get("fill-opacity", "1")) < 1 or rect.get("fill") in ("#fde68a",)
    # names at the top, in full even for the short Induction II band
    names = [g.find(f"{SVG}text").text for g in phases]
    assert names == ["Induction I", "Induction II", "Consolidation"]
    for g in phases:
        assert float(g.find(f"{SVG}text").get("y")) < threshold_y(root)
    assert title_of(phases[1]) == "Induction II: study days 50\u201370"


def test_ongoing_phase_reaches_the_right_edge():
    root = render(phases=[PhaseBand("Maintenance", 150, None)])
    (phase,) = groups(root, "phase")
    rect = phase.find(f"{SVG}rect")
    right = float(rect.get("x")) + float(rect.get("width"))
    (threshold,) = groups(root, "threshold")
    assert right == near(float(threshold.find(f"{SVG}line").get("x2")))
    assert "ongoing" in title_of(phase)


# --- tooltips, safety, determinism --------------------------------------------------------------


def test_every_result_has_a_tooltip_with_label_class_day_and_level_in_lab_notation():
    root = render(
        points=[
            q(74, "0.00012", "W11 qPCR"),
            MrdPoint(40, "negative", sensitivity=Decimal("0.00001"), label="D40"),
            MrdPoint(90, "pnq", label="W13"),
            MrdPoint(95, "not_evaluable", label="W14"),
        ]
    )
    found = points_of(root)
    assert len(found) == 4
    assert title_of(found["W11 qPCR"]).startswith("W11 qPCR: quantifiable 1.2E-4")
    assert "study day 74" in title_of(found["W11 qPCR"])
    assert "at or above 1E-4" in title_of(found["W11 qPCR"])  # MR-2: 1.2E-4 is MRD failure
    assert "negative at sensitivity 1E-5" in title_of(found["D40"])
    assert "study day 40" in title_of(found["D40"])
    assert "not quantifiable" in title_of(found["W13"]) and "1E-4" in title_of(found["W13"])
    assert "not evaluable" in title_of(found["W14"])
    at_or_above = points_of(render(points=[q(120, "1E-4", "W18")]))["W18"]
    assert "at or above 1E-4" in title_of(at_or_above)  # exactly 1E-4 is failure
    below = points_of(render(points=[q(120, "0.000099", "W18")]))["W18"]
    assert title_of(below).startswith("W18: quantifiable 9.9E-5 (below 1E-4)")
    for g in (*groups(root, "phase"), *groups(root, "threshold")):
        assert title_of(g)


HOSTILE = (
    "<script>alert(1)</script>",
    '"onload="alert(1)',
    "' onclick='alert(2)' x='",
    "</text><script>alert(3)</script>",
    "a & b ]]> <!-- x -->",
    "bell\x07 and nul\x00",
)


def hostile_render() -> str:
    points = [q(10 + 10 * i, "1E-3", label) for i, label in enumerate(HOSTILE)]
    points.append(MrdPoint(90, '"><script>', label=HOSTILE[0], method="<ngs onload=x>"))
    phases = [PhaseBand(label, 1 + 15 * i, 14 + 15 * i) for i, label in enumerate(HOSTILE)]
    return render_kinetics_svg(points, phases)


@pytest.mark.verifies("UR-ACC-05")
def test_hostile_labels_come_out_as_inert_text():
    svg = hostile_render()
    root = parse(svg)
    assert "<script" not in svg
    assert "\x00" not in svg and "\x07" not in svg
    found = {g.get("data-day"): g for g in groups(root, "mrd-point")}
    assert [found[str(10 + 10 * i)].get("data-label") for i in range(6)][:5] == list(HOSTILE[:5])
    assert title_of(found["10"]).startswith("<script>alert(1)</script>: quantifiable 1E-3")
    assert found["90"].get("data-method") == "<ngs onload=x>"
    assert [g.get("data-label") for g in groups(root, "phase")][:5] == list(HOSTILE[:5])
    for g in groups(root, "mrd-point"):
        assert all(c.replace("-", "").isalnum() for c in classes(g))


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.parametrize("svg", ["sample", "hostile", "empty"])
def test_no_style_script_event_handler_or_external_resource(svg):
    svg = {
        "sample": lambda: render_kinetics_svg(sample_points(), sample_phases()),
        "hostile": hostile_render,
        "empty": lambda: render_kinetics_svg([]),
    }[svg]()
    root = parse(svg)
    for el in root.iter():
        assert not el.tag.lower().endswith(("script", "style", "foreignobject", "image", "a"))
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            assert local != "style"
            assert not local.startswith("on"), (el.tag, name)
            assert local != "href"
            assert "javascript:" not in value.lower()
            if "url(" in value:
                assert value.startswith("url(#")
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in svg


def test_output_is_deterministic():
    first = render_kinetics_svg(sample_points(), sample_phases())
    assert first == render_kinetics_svg(sample_points(), sample_phases())
    assert first == render_kinetics_svg(tuple(sample_points()), tuple(sample_phases()))
    assert hostile_render() == hostile_render()
    assert first != render_kinetics_svg(sample_points()[:-1], sample_phases())


def test_no_results_says_so():
    svg = render_kinetics_svg([], sample_phases())
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert "No MRD results yet" in all_text(root)
    assert not groups(root, "mrd-point")
    assert root.find(f"{SVG}title").text and root.find(f"{SVG}desc").text


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_days_are_refused(bad):
    with pytest.raises(ValueError):
        render_kinetics_svg([MrdPoint(bad, "pnq")])
    with pytest.raises(ValueError):
        render_kinetics_svg(sample_points(), [PhaseBand("Induction I", 12, bad)])


def test_bad_sizes_and_thresholds_are_refused():
    with pytest.raises(ValueError):
        render_kinetics_svg(sample_points(), width=100)
    with pytest.raises(ValueError):
        render_kinetics_svg(sample_points(), height=50)
    with pytest.raises(ValueError):
        render_kinetics_svg(sample_points(), threshold=Decimal("0"))
    with pytest.raises(ValueError):
        render_kinetics_svg([q(1, "1E-3")], threshold=Decimal("NaN"))
