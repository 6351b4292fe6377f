"""The casebook timeline picture (crf.timeline): server-rendered SVG of rules §1 study days.

The SVG is parsed as XML and checked for what a user sees: bars, markers, colours, positions,
tooltips, and that hostile labels stay inert under a strict Content-Security-Policy.
"""

import math
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from crf.timeline import OutcomeMark, PhaseBar, Span, Timeline, VisitMark, render_svg

pytestmark = pytest.mark.verifies("UR-REC-05")

SVG = "{http://www.w3.org/2000/svg}"


def near(value: float):
    """Coordinates are written with 2 decimals."""
    return pytest.approx(value, abs=0.02)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def sample(**changes) -> Timeline:
    """The subject of the brief: study day 60, Induction II ongoing."""
    values = dict(
        today_day=60,
        phases=(
            PhaseBar("Pre-Induction", 1, 7),
            PhaseBar("Induction I", 12, 40),
            PhaseBar("Induction II", 50, None),
        ),
        infusions=(Span("Blinatumomab cycle 1", 12, 41),),
        interruptions=(Span("ALT grade 3 (TX-HEP)", 20, 21),),
        visits=(
            VisitMark("D11", 11, "done"),
            VisitMark("D40", 40, "done"),
            VisitMark("W11", 71, "due"),
            VisitMark("W18", 120, "planned"),
        ),
        outcomes=(OutcomeMark("CR", 40, "response"),),
    )
    values.update(changes)
    return Timeline(**values)


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in classes(g)]


def title_of(el: ET.Element) -> str:
    title = el.find(f"{SVG}title")
    assert title is not None, f"{el.get('class')} has no <title>"
    return title.text or ""


def rect_range(g: ET.Element) -> tuple[float, float]:
    rect = g.find(f"{SVG}rect")
    assert rect is not None
    x = float(rect.get("x"))
    return x, x + float(rect.get("width"))


def marker_x(g: ET.Element) -> float:
    circle = g.find(f"{SVG}circle")
    if circle is not None:
        return float(circle.get("cx"))
    polygon = g.find(f"{SVG}polygon")
    xs = [float(p.split(",")[0]) for p in polygon.get("points").split()]
    return (min(xs) + max(xs)) / 2


def tick_x(root: ET.Element) -> dict[int, float]:
    result = {}
    for g in groups(root, "tick"):
        line = g.find(f"{SVG}line")
        label = g.find(f"{SVG}text")
        assert label.text == g.get("data-day")
        result[int(g.get("data-day"))] = float(line.get("x1"))
    return result


def today_x(root: ET.Element) -> float:
    (today,) = groups(root, "today")
    line = today.find(f"{SVG}line")
    assert line.get("x1") == line.get("x2")
    assert line.get("stroke-dasharray"), "the today line is dashed"
    return float(line.get("x1"))


def all_text(el: ET.Element) -> str:
    return " ".join(t.strip() for t in el.itertext())


# --- document -----------------------------------------------------------------------------------


@pytest.mark.verifies("UR-OPS-03")
def test_root_is_an_accessible_svg_image_with_title_and_description():
    root = parse(render_svg(sample()))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    labelled_by = root.get("aria-labelledby").split()
    assert [ids[i].tag for i in labelled_by] == [f"{SVG}title", f"{SVG}desc"]
    assert "60" in ids[labelled_by[0]].text
    desc = ids[labelled_by[1]].text
    for expected in ("Pre-Induction", "Induction II", "ongoing", "W11", "due", "CR", "20\u201321"):
        assert expected in desc
    assert root.get("viewBox") == f"0 0 960 {root.get('height')}"


def test_width_is_honoured_and_everything_stays_inside():
    for width in (480, 960, 1400):
        root = parse(render_svg(sample(), width=width))
        assert root.get("width") == str(width)
        for el in root.iter():
            for attr in ("x", "x1", "x2", "cx"):
                if el.get(attr) is not None:
                    assert -1 <= float(el.get(attr)) <= width + 1, (el.tag, attr, el.get(attr))


def test_ids_are_unique_and_differ_between_timelines():
    first = parse(render_svg(sample()))
    ids = [el.get("id") for el in first.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    second = parse(render_svg(sample(today_day=61)))
    assert not set(ids) & {el.get("id") for el in second.iter() if el.get("id")}


# --- phases -------------------------------------------------------------------------------------


def test_one_bar_per_phase_with_its_name_in_order():
    root = parse(render_svg(sample()))
    phases = groups(root, "phase")
    assert [g.get("data-label") for g in phases] == ["Pre-Induction", "Induction I", "Induction II"]
    ranges = [rect_range(g) for g in phases]
    assert ranges == sorted(ranges)
    assert all(right <= next_left for (_, right), (next_left, _) in pairwise(ranges))
    # Induction I (29 days) is four times as long as Pre-Induction (7 days).
    widths = [right - left for left, right in ranges]
    assert widths[1] == pytest.approx(widths[0] * 29 / 7, rel=0.01)
    assert "Induction I" in all_text(phases[1])
    assert "Induction I: study days 12\u201340" == title_of(phases[1])
    # Every phase text is clipped to a clip path that exists.
    clip_ids = {c.get("id") for c in root.iter(f"{SVG}clipPath")}
    for g in phases:
        for text in g.iter(f"{SVG}text"):
            assert text.get("clip-path")[len("url(#") : -1] in clip_ids


def test_phase_colours_differ():
    root = parse(render_svg(sample()))
    fills = [g.find(f"{SVG}rect").get("fill") for g in groups(root, "phase")]
    assert len(set(fills)) == 3


def test_ongoing_phase_reaches_today():
    root = parse(render_svg(sample()))
    induction_ii = groups(root, "phase")[2]
    assert "ongoing" in title_of(induction_ii)
    left, right = rect_range(induction_ii)
    assert left < today_x(root) <= right


def test_overlapping_phases_do_not_hide_each_other():
    root = parse(
        render_svg(sample(phases=(PhaseBar("Induction II", 50, 80), PhaseBar("Consol I", 70, 99))))
    )
    a, b = (g.find(f"{SVG}rect") for g in groups(root, "phase"))
    assert a.get("y") != b.get("y")


# --- infusions and interruptions ----------------------------------------------------------------


def test_interruption_is_drawn_over_its_infusion():
    root = parse(render_svg(sample()))
    (infusion,) = groups(root, "infusion")
    (interruption,) = groups(root, "interruption")
    inf_left, inf_right = rect_range(infusion)
    int_left, int_right = rect_range(interruption)
    assert inf_left < int_left < int_right < inf_right
    # two of the 30 infusion-bar days
    assert (int_right - int_left) == pytest.approx((inf_right - inf_left) * 2 / 30, rel=0.01)
    # drawn later (on top) and not in the infusion colour
    order = list(root.iter(f"{SVG}g"))
    assert order.index(interruption) > order.index(infusion)
    int_rect = interruption.find(f"{SVG}rect")
    assert int_rect.get("fill") != infusion.find(f"{SVG}rect").get("fill")
    assert int_rect.get("stroke") in ("#b91c1c", "#dc2626", "red")
    pattern_id = int_rect.get("fill")[len("url(#") : -1]
    assert root.find(f".//{SVG}pattern[@id='{pattern_id}']") is not None
    assert (
        title_of(interruption)
        == "Interruption: ALT grade 3 (TX-HEP): study days 20\u201321 (2 days)"
    )


def test_infusion_label_avoids_the_interruption():
    root = parse(render_svg(sample()))
    (infusion,) = groups(root, "infusion")
    int_left, int_right = rect_range(groups(root, "interruption")[0])
    text = infusion.find(f"{SVG}text")
    assert text is not None and "Blinatumomab" in text.text
    assert float(text.get("x")) >= int_right


# --- visits -------------------------------------------------------------------------------------


def visit_fills(root: ET.Element) -> dict[str, str]:
    return {g.get("data-label"): g.find(f"{SVG}circle").get("fill") for g in groups(root, "visit")}


def test_visits_are_coloured_by_status():
    statuses = ("planned", "due", "overdue", "done", "missed")
    visits = tuple(VisitMark(s, 10 + 10 * i, s) for i, s in enumerate(statuses))
    root = parse(render_svg(sample(visits=visits)))
    fills = visit_fills(root)
    assert len(set(fills.values())) == 5
    assert fills["overdue"] != fills["done"]
    for g in groups(root, "visit"):
        assert f"visit-{g.get('data-status')}" in classes(g)
        assert g.get("data-status") in title_of(g)
    # the legend explains every status with the same colour
    (legend,) = groups(root, "legend")
    legend_fills = {}
    for entry in legend.iter(f"{SVG}g"):
        circle, text = entry.find(f"{SVG}circle"), entry.find(f"{SVG}text")
        if circle is not None:
            legend_fills[text.text] = circle.get("fill")
    assert legend_fills == fills


def test_overdue_visit_changes_colour_when_done():
    overdue = visit_fills(parse(render_svg(sample(visits=(VisitMark("D40", 40, "overdue"),)))))
    done = visit_fills(parse(render_svg(sample(visits=(VisitMark("D40", 40, "done"),)))))
    assert overdue["D40"] != done["D40"]


def test_visit_markers_sit_on_their_study_day():
    root = parse(render_svg(sample()))
    ticks = tick_x(root)
    by_label = {g.get("data-label"): marker_x(g) for g in groups(root, "visit")}
    assert by_label["D11"] == near(ticks[11])
    assert by_label["D40"] == near(ticks[40])
    assert by_label["W11"] == near(ticks[71])
    assert by_label["W18"] == near(ticks[120])
    assert all(
        title_of(g).startswith(f"{g.get('data-label')}: study day ") for g in groups(root, "visit")
    )


def test_visit_labels_do_not_overlap():
    visits = tuple(VisitMark(f"Visit {d}", d, "planned") for d in (40, 41, 42, 43))
    root = parse(render_svg(sample(visits=visits)))
    positions = [
        (float(t.get("x")), float(t.get("y")))
        for g in groups(root, "visit")
        for t in g.iter(f"{SVG}text")
    ]
    for i, (x, y) in enumerate(positions):
        for other_x, other_y in positions[i + 1 :]:
            assert abs(x - other_x) > 30 or abs(y - other_y) >= 10


# --- outcomes -----------------------------------------------------------------------------------


def test_outcome_marker_with_label_on_its_day():
    root = parse(render_svg(sample()))
    (outcome,) = groups(root, "outcome")
    assert "CR" in all_text(outcome)
    assert title_of(outcome) == "CR: study day 40 (response)"
    assert outcome.find(f"{SVG}polygon") is not None  # a diamond
    assert marker_x(outcome) == near(tick_x(root)[40])


def test_outcome_kinds_are_told_apart_and_unknown_kinds_are_other():
    outcomes = (
        OutcomeMark("CR", 40, "response"),
        OutcomeMark("HSCT", 150, "hsct"),
        OutcomeMark("Relapse", 300, "relapse"),
        OutcomeMark("Weird", 310, "banana"),
    )
    root = parse(render_svg(sample(outcomes=outcomes, today_day=320)))
    found = {g.get("data-label"): g for g in groups(root, "outcome")}
    assert found["Weird"].get("data-kind") == "other"
    fills = {label: g.find(f"{SVG}polygon").get("fill") for label, g in found.items()}
    assert len(set(fills.values())) == 4


# --- axis and today -----------------------------------------------------------------------------


def test_today_line_is_at_todays_study_day():
    root = parse(render_svg(sample()))
    ticks = tick_x(root)
    assert {1, 11, 40, 71, 120} <= set(ticks)
    per_day = (ticks[40] - ticks[1]) / 39
    assert today_x(root) == near(ticks[1] + 59 * per_day)
    assert "day 60" in all_text(groups(root, "today")[0])
    # and on a landmark day it coincides with the tick
    root = parse(render_svg(sample(today_day=71)))
    assert today_x(root) == near(tick_x(root)[71])


def test_axis_runs_past_the_last_item():
    root = parse(render_svg(sample()))
    w18 = next(g for g in groups(root, "visit") if g.get("data-label") == "W18")
    assert today_x(root) < marker_x(w18) < float(root.get("width")) - 16
    assert max(tick_x(root)) >= 120


def test_ticks_for_a_long_study_use_a_regular_step_and_do_not_collide():
    root = parse(render_svg(sample(today_day=730, phases=(PhaseBar("Maintenance", 200, None),))))
    ticks = sorted(tick_x(root).items())
    assert ticks[0][0] == 1 and ticks[-1][0] >= 600
    days = [d for d, _ in ticks[1:]]
    steps = {b - a for a, b in pairwise(days)}
    assert len(steps) == 1
    xs = [x for _, x in ticks]
    assert all(b - a >= 20 for a, b in pairwise(xs))


def test_days_before_day_1_are_clamped_at_the_left():
    root = parse(
        render_svg(
            sample(
                visits=(VisitMark("Screening", -5, "done"),),
                phases=(PhaseBar("Pre-Induction", -2, 7),),
            )
        )
    )
    (visit,) = groups(root, "visit")
    (phase,) = groups(root, "phase")
    left_edge, _ = rect_range(phase)
    assert marker_x(visit) == near(left_edge)
    assert left_edge < tick_x(root)[1]
    assert left_edge >= 0
    assert title_of(visit) == "Screening: study day -5 (done)"
    assert title_of(phase) == "Pre-Induction: study days -2\u20137"


# --- tooltips, safety, determinism --------------------------------------------------------------


ITEM_CLASSES = ("phase", "infusion", "interruption", "visit", "outcome")


def test_every_item_has_a_tooltip_with_label_and_day():
    root = parse(render_svg(sample()))
    items = [g for cls in ITEM_CLASSES for g in groups(root, cls)]
    assert len(items) == 3 + 1 + 1 + 4 + 1
    for g in items:
        text = title_of(g)
        assert g.get("data-label") in text
        assert "day" in text and any(ch.isdigit() for ch in text)


HOSTILE = (
    "<script>alert(1)</script>",
    '"onload="alert(1)',
    "' onclick='alert(2)' x='",
    "</text><script>alert(3)</script>",
    "a & b ]]> <!-- x -->",
    "bell\x07 and nul\x00",
)


def hostile_timeline() -> Timeline:
    return sample(
        phases=tuple(PhaseBar(label, 1 + 30 * i, 20 + 30 * i) for i, label in enumerate(HOSTILE)),
        infusions=(Span(HOSTILE[1], 12, 40),),
        interruptions=(Span(HOSTILE[2], 20, 21),),
        visits=tuple(VisitMark(label, 11 + i, HOSTILE[0]) for i, label in enumerate(HOSTILE)),
        outcomes=(OutcomeMark(HOSTILE[3], 40, '"><script>'),),
    )


@pytest.mark.verifies("UR-ACC-05")
def test_hostile_labels_come_out_as_inert_text():
    svg = render_svg(hostile_timeline())
    root = parse(svg)
    assert "<script" not in svg
    tags = {el.tag for el in root.iter()}
    assert not any(tag.lower().endswith(("script", "foreignobject", "style")) for tag in tags)
    phases = groups(root, "phase")
    # the labels survive intact as attribute values and tooltip text
    assert [g.get("data-label") for g in phases[:5]] == list(HOSTILE[:5])
    for g in phases:
        fill = g.find(f"{SVG}rect").get("fill")
        assert len(fill) == 7 and fill.startswith("#") and int(fill[1:], 16) >= 0
    assert title_of(phases[0]).startswith("<script>alert(1)</script>: study days 1")
    (infusion,) = groups(root, "infusion")
    assert infusion.get("data-label") == '"onload="alert(1)'
    assert set(infusion.attrib) == {"class", "data-label", "data-first-day", "data-last-day"}
    (interruption,) = groups(root, "interruption")
    assert interruption.get("data-label") == HOSTILE[2]
    # control characters that XML forbids are replaced, not passed through
    assert "\x00" not in svg and "\x07" not in svg
    visit_classes = {c for g in groups(root, "visit") for c in classes(g)}
    assert all(c.replace("-", "").isalnum() for c in visit_classes)


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.parametrize(
    "timeline",
    [sample(), hostile_timeline(), Timeline(today_day=3)],
    ids=["sample", "hostile", "empty"],
)
def test_no_style_script_event_handler_or_external_resource(timeline):
    svg = render_svg(timeline)
    root = parse(svg)
    for el in root.iter():
        assert not el.tag.lower().endswith(("script", "style", "foreignobject", "image", "a"))
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            assert local != "style"
            assert not local.startswith("on"), (el.tag, name)
            assert local != "href"
            assert "javascript:" not in value.lower()
            if value.startswith("url("):
                assert value.startswith("url(#")
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in svg


def test_output_is_deterministic():
    assert render_svg(sample()) == render_svg(sample())
    assert render_svg(hostile_timeline(), width=700) == render_svg(hostile_timeline(), width=700)
    assert render_svg(sample()) != render_svg(sample(today_day=61))


def test_empty_timeline_says_no_data_yet():
    svg = render_svg(Timeline(today_day=5))
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert "no data yet" in all_text(root).lower()
    assert "5" in root.find(f"{SVG}desc").text
    assert not [g for cls in ITEM_CLASSES for g in groups(root, cls)]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_days_are_refused(bad):
    with pytest.raises(ValueError):
        render_svg(Timeline(today_day=bad))
    with pytest.raises(ValueError):
        render_svg(sample(visits=(VisitMark("D11", bad, "done"),)))


def test_too_narrow_width_is_refused():
    with pytest.raises(ValueError):
        render_svg(sample(), width=100)
