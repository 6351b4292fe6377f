"""The landmark ticks are protocol.schedule's study days, and charts stays a bottom layer."""

import ast
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import charts
from crf import timeline
from mrd import plot
from protocol import schedule
from protocol.schedule import LANDMARK_DAYS

pytestmark = pytest.mark.verifies("UR-REC-05", "UR-MRD-03")


def test_landmarks_are_the_days_the_schedule_defines():
    expected = {
        schedule.PRE_INDUCTION_FIRST_DAY,
        schedule.PRE_INDUCTION_LAST_DAY,
        schedule.DAY_11_ASSESSMENT_DAY,
        schedule.INDUCTION_I_FIRST_DAY,
        schedule.INDUCTION_I_LAST_DAY,
        schedule.END_OF_INDUCTION_I_DAY,
        schedule.INDUCTION_II_FIRST_DAY,
        schedule.study_days_of_week(schedule.WEEK_11)[0],
        schedule.study_days_of_week(schedule.WEEK_18)[0],
    }
    assert LANDMARK_DAYS == tuple(sorted(expected))
    assert LANDMARK_DAYS == (1, 7, 11, 12, 40, 50, 71, 120)


@pytest.mark.parametrize(
    ("what", "day"),
    [(p.name.value + " first day", p.first_day) for p in schedule.PHASES if p.first_day]
    + [(p.name.value + " last day", p.last_day) for p in schedule.PHASES if p.last_day]
    + [(v.code.value + " first target day", v.first_target_day) for v in schedule.VISITS],
)
def test_every_fixed_day_of_phases_and_visits_is_a_landmark(what, day):
    assert day in LANDMARK_DAYS, what


def test_both_drawings_take_the_landmarks_from_the_schedule():
    assert timeline.LANDMARK_DAYS is schedule.LANDMARK_DAYS
    assert plot.LANDMARK_DAYS is schedule.LANDMARK_DAYS


def tick_days(svg: str) -> set[int]:
    return {int(d) for d in re.findall(r'class="tick" data-day="(-?\d+)"', svg)}


def test_wide_pictures_tick_every_landmark():
    # 11 and 12 can only both be labelled where a day is about 20 pixels wide.
    tl = timeline.Timeline(today_day=125, visits=(timeline.VisitMark("W18", 120, "planned"),))
    assert set(LANDMARK_DAYS) <= tick_days(timeline.render_svg(tl, width=3000))
    points = [plot.MrdPoint(120, "quantifiable", value=Decimal("1E-3"))]
    assert set(LANDMARK_DAYS) <= tick_days(plot.render_kinetics_svg(points, width=3000))


CHARTS = Path(charts.__file__).parent


@pytest.mark.parametrize("path", sorted(CHARTS.glob("*.py")), ids=lambda p: p.name)
def test_charts_imports_only_the_standard_library_and_itself(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, path.name
