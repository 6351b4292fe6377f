"""The casebook timeline's lane of treatment after induction: MRD-triggered blinatumomab courses
(MR-4, MR-5) and salvage therapies as bars on the study-day axis; without them the picture is
exactly what it was."""

import hashlib

import pytest

from crf.timeline import TherapySpan, render_svg
from tests.crf.test_timeline import (
    SVG,
    all_text,
    classes,
    groups,
    parse,
    rect_range,
    sample,
    tick_x,
    title_of,
    today_x,
)

pytestmark = pytest.mark.verifies("UR-REC-05")

COURSE = TherapySpan("Blinatumomab (2 cycles)", 130, 186, "mrd-blinatumomab")
SALVAGE = TherapySpan("Inotuzumab ozogamicin (relapse)", 200, None, "salvage")


def with_therapies(*therapies, today_day=250):
    return sample(today_day=today_day, therapies=therapies)


def test_without_therapies_the_ids_are_those_of_before():
    """The ids' digest is the one of a timeline that had no therapies field at all."""
    timeline = sample()
    digest = hashlib.sha256(repr((timeline, 960)).encode("utf-8", "backslashreplace"))
    assert "therapies" not in repr(timeline)
    assert f'id="tl-{digest.hexdigest()[:10]}-' in render_svg(timeline)
    root = parse(render_svg(timeline))
    assert not groups(root, "therapy")
    assert "Later therapy" not in all_text(root)


def test_therapies_change_the_ids():
    first = parse(render_svg(with_therapies(COURSE)))
    second = parse(render_svg(with_therapies(SALVAGE)))
    ids = {el.get("id") for el in first.iter() if el.get("id")}
    assert not ids & {el.get("id") for el in second.iter() if el.get("id")}


def test_a_course_is_a_bar_over_its_study_days():
    root = parse(render_svg(with_therapies(COURSE)))
    (bar,) = groups(root, "therapy")
    assert "therapy-mrd-blinatumomab" in classes(bar)
    assert (bar.get("data-kind"), bar.get("data-first-day"), bar.get("data-last-day")) == (
        "mrd-blinatumomab", "130", "186",
    )  # fmt: skip
    left, right = rect_range(bar)
    ticks = tick_x(root)
    step = (ticks[160] - ticks[140]) / 20  # pixels per study day
    # the bar covers days 130 to 186 inclusive: 57 days
    assert right - left == pytest.approx(57 * step, rel=0.01)
    assert title_of(bar) == (
        "Blinatumomab (2 cycles): study days 130\u2013186 (57 days) (MRD-triggered blinatumomab)"
    )
    lane_names = [t.text for t in root.iter(f"{SVG}text") if "lane-name" in classes(t)]
    assert lane_names == ["Phases", "Blinatumomab", "Later therapy", "Visits", "Outcomes"]


def test_a_running_salvage_therapy_reaches_today():
    root = parse(render_svg(with_therapies(SALVAGE)))
    (bar,) = groups(root, "therapy")
    assert bar.get("data-last-day") == "ongoing"
    assert "ongoing" in title_of(bar) and "salvage therapy" in title_of(bar)
    left, right = rect_range(bar)
    assert left < today_x(root) <= right


def test_kinds_have_their_colours_and_the_legend_explains_them():
    root = parse(render_svg(with_therapies(COURSE, SALVAGE)))
    course, salvage = groups(root, "therapy")
    fills = {g.get("data-kind"): g.find(f"{SVG}rect").get("fill") for g in (course, salvage)}
    assert fills["mrd-blinatumomab"] != fills["salvage"]
    infusion_fill = groups(root, "infusion")[0].find(f"{SVG}rect").get("fill")
    assert infusion_fill not in fills.values()
    (legend,) = groups(root, "legend")
    legend_fills = {}
    for entry in legend.iter(f"{SVG}g"):
        rect, text = entry.find(f"{SVG}rect"), entry.find(f"{SVG}text")
        if rect is not None and text is not None:
            legend_fills[text.text] = rect.get("fill")
    assert legend_fills["MRD-triggered blinatumomab"] == fills["mrd-blinatumomab"]
    assert legend_fills["salvage therapy"] == fills["salvage"]
    desc = root.find(f"{SVG}desc").text
    assert "Later therapy: Blinatumomab (2 cycles) (MRD-triggered blinatumomab), days 130" in desc
    assert "Inotuzumab ozogamicin (relapse) (salvage therapy), from day 200" in desc


def test_the_legend_names_only_the_kinds_present():
    root = parse(render_svg(with_therapies(COURSE)))
    (legend,) = groups(root, "legend")
    assert "salvage therapy" not in all_text(legend)
    assert "MRD-triggered blinatumomab" in all_text(legend)


def test_overlapping_therapies_do_not_hide_each_other():
    overlapping = TherapySpan("Inotuzumab ozogamicin (relapse)", 150, 170, "salvage")
    root = parse(render_svg(with_therapies(COURSE, overlapping)))
    a, b = (g.find(f"{SVG}rect") for g in groups(root, "therapy"))
    assert a.get("y") != b.get("y")


def test_the_axis_runs_past_a_late_therapy():
    root = parse(
        render_svg(with_therapies(TherapySpan("CAR-T", 400, 430, "salvage"), today_day=60))
    )
    (bar,) = groups(root, "therapy")
    assert rect_range(bar)[1] <= 960


@pytest.mark.verifies("UR-ACC-05")
def test_an_unknown_kind_is_drawn_as_other_therapy_and_labels_stay_inert():
    hostile = TherapySpan('<script>alert(1)</script>"', 130, 140, '"><b onload=x>')
    svg = render_svg(with_therapies(hostile))
    assert "<script" not in svg and "<b " not in svg
    root = parse(svg)
    (bar,) = groups(root, "therapy")
    assert bar.get("data-kind") == "other"
    assert bar.get("data-label") == '<script>alert(1)</script>"'
    assert all(not name.startswith("on") for el in root.iter() for name in el.attrib)


def test_non_finite_days_are_refused():
    with pytest.raises(ValueError):
        render_svg(with_therapies(TherapySpan("x", float("nan"), None, "salvage")))
