"""rules §3 (BD-1, BD-2, BL-1 .. BL-5): the blinatumomab infusion log."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from protocol.dosing import blinatumomab_start_plan
from protocol.infusion import (
    DoseChange,
    InfusionCourse,
    InterruptionPeriod,
    NextStep,
    NextStepKind,
    allowed_doses_at,
    current_dose,
    dose_change_errors,
    expected_next_step,
    infusion_day_at,
    infusion_days_given,
    interruption_errors,
)
from protocol.schedule import BlinatumomabRule, ProtocolSettings

pytestmark = pytest.mark.verifies("UR-DOS-02")

START = datetime(2026, 3, 12, 8, 0)  # study day 12, 08:00
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
NINE, TWENTY_EIGHT = Decimal(9), Decimal(28)

BD1_BLASTS_50 = blinatumomab_start_plan(BlinatumomabRule.BD_1, 50)  # 28 from infusion day 1
BD1_BLASTS_51 = blinatumomab_start_plan(BlinatumomabRule.BD_1, 51)  # 9 on days 1-7, then 28
BD2 = blinatumomab_start_plan(BlinatumomabRule.BD_2)  # 9 on days 1-7, then 28

K = NextStepKind


def at(offset: timedelta) -> datetime:
    return START + offset


def course(
    doses: tuple[tuple[timedelta, Decimal], ...] = ((timedelta(0), NINE),),
    interruptions: tuple[tuple[timedelta, timedelta | None], ...] = (),
    end: timedelta | None = None,
) -> InfusionCourse:
    """A course starting at START; offsets are from START."""
    return InfusionCourse(
        start=START,
        end=at(end) if end is not None else None,
        dose_changes=tuple(DoseChange(at(offset), dose) for offset, dose in doses),
        interruptions=tuple(
            InterruptionPeriod(at(s), at(e) if e is not None else None) for s, e in interruptions
        ),
    )


# --- InterruptionPeriod.duration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        (DAY, 3 * DAY, 10 * DAY, 2 * DAY),  # closed: end - start, whatever now is
        (DAY, None, 3 * DAY + HOUR, 2 * DAY + HOUR),  # open: up to now
        (DAY, None, DAY, timedelta(0)),
        (2 * DAY, None, DAY, timedelta(0)),  # not started yet: never negative
    ],
)
def test_interruption_duration(start, end, now, expected):
    period = InterruptionPeriod(at(start), at(end) if end is not None else None)
    assert period.duration(at(now)) == expected


# --- infusion days given (BL-1) --------------------------------------------------------------


@pytest.mark.verifies("BL-1")
@pytest.mark.parametrize(
    ("interruptions", "end", "now", "expected"),
    [
        ((), None, 10 * DAY, "10.0"),
        (((3 * DAY, 5 * DAY),), None, 10 * DAY, "8.0"),  # 10 days running, 2 days interrupted
        (((8 * DAY, None),), None, 10 * DAY, "8.0"),  # open interruption counts up to now
        (((-DAY, DAY),), None, 10 * DAY, "9.0"),  # clipped to the infusion start
        (((2 * DAY, 4 * DAY), (3 * DAY, 5 * DAY)), None, 10 * DAY, "7.0"),  # overlap once
        (((2 * DAY, 3 * DAY), (3 * DAY, 4 * DAY)), None, 10 * DAY, "8.0"),  # touching
        (((12 * DAY, None),), None, 10 * DAY, "10.0"),  # not started by now: no effect
        ((), None, DAY + 2 * HOUR + 23 * MINUTE, "1.0"),  # 1.0993 days: rounded down
        ((), None, DAY + 2 * HOUR + 24 * MINUTE, "1.1"),  # exactly 1.1 days
        ((), None, 28 * DAY - MINUTE, "27.9"),  # never rounded up to a full cycle
        ((), 28 * DAY, 40 * DAY, "28.0"),  # ended: counted to the end, not to now
        (((26 * DAY, 30 * DAY),), 30 * DAY, 40 * DAY, "26.0"),  # interrupted up to the end
        ((), None, -DAY, "0.0"),  # before the start
        ((), None, timedelta(0), "0.0"),
    ],
)
def test_infusion_days_given(interruptions, end, now, expected):
    given = infusion_days_given(course(interruptions=interruptions, end=end), at(now))
    assert given == Decimal(expected)
    assert str(given) == expected  # one decimal


@pytest.mark.verifies("BL-1")
@pytest.mark.parametrize(
    ("interruptions", "now", "day"),
    [
        ((), timedelta(0), 1),
        ((), 7 * DAY - MINUTE, 7),
        ((), 7 * DAY, 8),  # infusion day 8 begins after 7 full days of infusion
        (((3 * DAY, 5 * DAY),), 9 * DAY - MINUTE, 7),  # interruption time does not count
        (((3 * DAY, 5 * DAY),), 9 * DAY, 8),
    ],
)
def test_infusion_day_at(interruptions, now, day):
    assert infusion_day_at(course(interruptions=interruptions), at(now)) == day


# --- dose running at a moment ----------------------------------------------------------------

STEPPED = course(
    doses=((timedelta(0), NINE), (7 * DAY, TWENTY_EIGHT), (12 * DAY, NINE)),
    interruptions=((10 * DAY, 12 * DAY),),
    end=28 * DAY,
)


@pytest.mark.parametrize(
    ("the_course", "moment", "dose"),
    [
        (STEPPED, -MINUTE, None),  # before the start
        (STEPPED, timedelta(0), NINE),
        (STEPPED, 7 * DAY - MINUTE, NINE),
        (STEPPED, 7 * DAY, TWENTY_EIGHT),  # the step-up
        (STEPPED, 10 * DAY - MINUTE, TWENTY_EIGHT),
        (STEPPED, 10 * DAY, None),  # interrupted from its start
        (STEPPED, 11 * DAY, None),
        (STEPPED, 12 * DAY, NINE),  # restart at 9 (BL-4) at the interruption end
        (STEPPED, 28 * DAY - MINUTE, NINE),
        (STEPPED, 28 * DAY, None),  # ended
        (course(doses=()), DAY, None),  # no dose recorded
        (course(interruptions=((DAY, None),)), 5 * DAY, None),  # still interrupted
    ],
)
def test_current_dose(the_course, moment, dose):
    assert current_dose(the_course, at(moment)) == dose


# --- interruption edit checks ----------------------------------------------------------------

NOW = 20 * DAY


@pytest.mark.parametrize(
    ("interruptions", "end", "expected"),
    [
        (((DAY, 2 * DAY),), None, []),
        (((DAY, DAY),), None, []),  # zero length is not an error
        (((2 * DAY, DAY),), None, [(0, "ends before it starts")]),
        (((-MINUTE, DAY),), None, [(0, "starts before the infusion start")]),
        (((timedelta(0), DAY),), None, []),  # at the infusion start
        (((DAY, 10 * DAY + MINUTE),), 10 * DAY, [(0, "after the infusion end")]),
        (((DAY, 10 * DAY),), 10 * DAY, []),  # ends with the infusion
        (((10 * DAY + MINUTE, 11 * DAY),), 12 * DAY, []),
        (((12 * DAY + MINUTE, 13 * DAY),), 12 * DAY, [(0, "starts after the infusion end")]),
        (((DAY, None),), 10 * DAY, [(0, "is still open, but the infusion ended")]),
        (((DAY, None),), None, []),  # open while the infusion is interrupted now
        (((NOW + MINUTE, None),), None, [(0, "starts in the future")]),
        (((NOW, None),), None, []),  # starts now
        (((DAY, NOW + MINUTE),), None, [(0, "ends in the future")]),
        # overlaps are reported on the later interruption, whatever the order of entry
        (((DAY, 3 * DAY), (2 * DAY, 4 * DAY)), None, [(1, "overlaps")]),
        (((2 * DAY, 4 * DAY), (DAY, 3 * DAY)), None, [(0, "overlaps")]),
        (((DAY, 2 * DAY + MINUTE), (2 * DAY, 3 * DAY)), None, [(1, "overlaps")]),
        (((DAY, 2 * DAY), (2 * DAY, 3 * DAY)), None, []),  # touching is not overlapping
        (((DAY, 5 * DAY), (2 * DAY, 3 * DAY)), None, [(1, "overlaps")]),  # inside another
        (((DAY, 2 * DAY), (3 * DAY, None)), None, []),
        (((DAY, None), (2 * DAY, 3 * DAY)), None, [(1, "overlaps")]),  # inside an open one
        (((DAY, None), (2 * DAY, None)), None, [(1, "only one interruption can be open")]),
        (((2 * DAY, None), (DAY, None)), None, [(0, "only one interruption can be open")]),
    ],
)
def test_interruption_errors(interruptions, end, expected):
    the_course = course(interruptions=interruptions, end=end)
    errors = interruption_errors(
        the_course.start, the_course.end, the_course.interruptions, at(NOW)
    )
    assert [index for index, _ in errors] == [index for index, _ in expected]
    for (_, message), (_, words) in zip(errors, expected, strict=True):
        assert words in message


def test_interruption_error_messages_give_the_values():
    errors = interruption_errors(
        START, at(10 * DAY), [InterruptionPeriod(at(DAY), at(11 * DAY))], at(NOW)
    )
    assert errors == [
        (
            0,
            "The interruption from 2026-03-13 08:00 ends at 2026-03-23 08:00, after the infusion "
            "end (2026-03-22 08:00); it must end at or before the infusion end.",
        )
    ]


# --- dose change edit checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "dose", "end", "expected"),
    [
        (timedelta(0), "9", None, None),
        (DAY, "28", None, None),
        (DAY, "28.1", None, "above the maximum of 28 µg/day"),  # above the cap
        (DAY, "30", None, "above the maximum of 28 µg/day"),
        (DAY, "15", None, "not a protocol dose"),
        (DAY, "9.5", None, "not a protocol dose"),
        (DAY, "0", None, "not a protocol dose"),
        (DAY, "9.0", None, None),  # the same number as 9
        (-MINUTE, "9", None, "before the infusion start"),
        (10 * DAY, "9", 10 * DAY, None),  # at the end: still within the infusion
        (10 * DAY + MINUTE, "9", 10 * DAY, "after the infusion end"),
        (NOW + MINUTE, "9", None, "in the future"),
    ],
)
def test_dose_change_errors(offset, dose, end, expected):
    errors = dose_change_errors(
        START,
        at(end) if end is not None else None,
        [DoseChange(at(offset), Decimal(dose))],
        at(NOW),
    )
    if expected is None:
        assert errors == []
    else:
        assert len(errors) == 1
        assert errors[0][0] == 0
        assert expected in errors[0][1]
        assert errors[0][1].startswith(f"The dose change at {at(offset):%Y-%m-%d %H:%M} ")


def test_dose_change_errors_point_at_the_offending_change():
    changes = [DoseChange(START, NINE), DoseChange(at(DAY), Decimal(30)), DoseChange(at(DAY), NINE)]
    errors = dose_change_errors(START, None, changes, at(NOW))
    assert [index for index, _ in errors] == [1, 2]
    assert errors[0][1] == (
        "The dose change at 2026-03-13 08:00 sets 30 µg/day, above the maximum of 28 µg/day "
        "(rules §3); enter 9 µg/day or 28 µg/day."
    )
    assert "same moment" in errors[1][1]


# --- what the protocol expects next: interruptions (BL-1 .. BL-5) ----------------------------

RUNNING_28 = ((timedelta(0), TWENTY_EIGHT),)
STOPPED_AT = 3 * DAY  # the interruption starts on infusion day 4


@pytest.mark.verifies("BL-1", "BL-2", "BL-3", "BL-4")
@pytest.mark.parametrize(
    ("length", "kind", "rule", "due"),
    [
        (timedelta(0), K.RESTART, "BL-4", STOPPED_AT + 7 * DAY),
        (4 * HOUR - MINUTE, K.RESTART, "BL-4", STOPPED_AT + 7 * DAY),
        (4 * HOUR, K.RESTART, "BL-4", STOPPED_AT + 7 * DAY),
        (7 * DAY, K.RESTART, "BL-4", STOPPED_AT + 7 * DAY),  # BL-1: <= 7 days, same cycle
        (7 * DAY + MINUTE, K.NEW_CYCLE, "BL-2", STOPPED_AT + 14 * DAY),  # BL-2: > 7 days
        (14 * DAY, K.NEW_CYCLE, "BL-2", STOPPED_AT + 14 * DAY),
        (14 * DAY + MINUTE, K.DISCONTINUE, "BL-3", STOPPED_AT + 14 * DAY),  # BL-3: > 14 days
        (15 * DAY, K.DISCONTINUE, "BL-3", STOPPED_AT + 14 * DAY),
    ],
)
def test_next_step_while_interrupted(length, kind, rule, due):
    the_course = course(doses=RUNNING_28, interruptions=((STOPPED_AT, None),))
    step = expected_next_step(the_course, BD1_BLASTS_50, at(STOPPED_AT + length))
    assert (step.kind, step.rule, step.due) == (kind, rule, at(due))


@pytest.mark.verifies("BL-1", "BL-4", "BL-5")
@pytest.mark.parametrize(
    ("length", "premedication"),
    [
        (4 * HOUR - MINUTE, "dexamethasone premedication expected if the restart is at or after "),
        (4 * HOUR, "dexamethasone premedication expected (BL-5)."),  # BL-5: 4 h or more
        (2 * DAY, "dexamethasone premedication expected (BL-5)."),
    ],
)
def test_restart_message_names_dose_and_premedication(length, premedication):
    the_course = course(doses=RUNNING_28, interruptions=((STOPPED_AT, None),))
    step = expected_next_step(the_course, BD1_BLASTS_50, at(STOPPED_AT + length))
    assert step.message.startswith(f"Restart at 9 µg/day (BL-4); {premedication}")
    assert "restart by 2026-03-22 08:00 to continue this cycle (BL-1)" in step.message
    assert "25.0 infusion days remain" in step.message


@pytest.mark.verifies("BL-1", "BL-4", "BL-5")
def test_restart_message_example():
    the_course = course(doses=RUNNING_28, interruptions=((STOPPED_AT, None),))
    step = expected_next_step(the_course, BD1_BLASTS_50, at(STOPPED_AT + 2 * DAY))
    assert step == NextStep(
        K.RESTART,
        "Restart at 9 µg/day (BL-4); dexamethasone premedication expected (BL-5). "
        "Interrupted since 2026-03-15 08:00 (2 days); restart by 2026-03-22 08:00 to continue "
        "this cycle (BL-1): 25.0 infusion days remain.",
        due=at(STOPPED_AT + 7 * DAY),
        rule="BL-4",
    )


@pytest.mark.verifies("BL-3")
def test_discontinuation_after_an_interruption_is_a_protocol_setting():
    the_course = course(doses=RUNNING_28, interruptions=((STOPPED_AT, None),))
    longer = ProtocolSettings(interruption_discontinue_days=21)
    now = at(STOPPED_AT + 15 * DAY)
    assert expected_next_step(the_course, BD1_BLASTS_50, now).kind == K.DISCONTINUE
    assert expected_next_step(the_course, BD1_BLASTS_50, now, longer).kind == K.NEW_CYCLE


@pytest.mark.verifies("BL-2")
def test_touching_interruptions_are_one_stretch_off_the_infusion():
    # 3 days + 4 days + 1 min with no infusion in between: more than 7 days off (BL-2)
    the_course = course(doses=RUNNING_28, interruptions=((3 * DAY, 6 * DAY), (6 * DAY, None)))
    step = expected_next_step(the_course, BD1_BLASTS_50, at(10 * DAY + MINUTE))
    assert (step.kind, step.rule) == (K.NEW_CYCLE, "BL-2")
    assert "Interrupted since 2026-03-15 08:00 (7 days 1 min, more than 7 days)" in step.message


@pytest.mark.verifies("BL-1", "BL-2", "BL-3", "BL-4")
@pytest.mark.parametrize(
    ("off", "kind", "rule"),
    [
        (7 * DAY, K.STEP_UP, "BL-4"),  # BL-1: same cycle; the restart waits for its step-up
        (7 * DAY + MINUTE, K.NEW_CYCLE, "BL-2"),  # restarted in the same course: not allowed
        (14 * DAY + MINUTE, K.DISCONTINUE, "BL-3"),
    ],
)
def test_restart_in_the_same_course_after_a_long_interruption(off, kind, rule):
    restart = STOPPED_AT + off
    the_course = course(
        doses=((timedelta(0), TWENTY_EIGHT), (restart, NINE)),
        interruptions=((STOPPED_AT, restart),),
    )
    step = expected_next_step(the_course, BD1_BLASTS_50, at(restart + DAY))
    assert (step.kind, step.rule) == (kind, rule)


# --- what the protocol expects next: start, step-up, continue, end ---------------------------


@pytest.mark.verifies("BD-1", "BD-2", "BL-1", "BL-5")
@pytest.mark.parametrize(
    ("plan", "doses", "now", "kind", "rule", "due"),
    [
        # BD-1 > 50% and BD-2: step-up on infusion day 8 (after 7 full infusion days)
        (BD1_BLASTS_51, ((timedelta(0), NINE),), 3 * DAY, K.STEP_UP, "BD-1/BD-2", 7 * DAY),
        (BD1_BLASTS_51, ((timedelta(0), NINE),), 7 * DAY, K.STEP_UP, "BD-1/BD-2", 7 * DAY),
        (BD2, ((timedelta(0), NINE),), 3 * DAY, K.STEP_UP, "BD-1/BD-2", 7 * DAY),
        (BD2, ((timedelta(0), NINE),), 10 * DAY, K.STEP_UP, "BD-1/BD-2", 7 * DAY),  # overdue
        (BD2, (), 3 * DAY, K.STEP_UP, "BD-1/BD-2", 7 * DAY),  # no dose recorded: plan's 9
        # after the step-up: continue to 28 infusion days
        (
            BD2,
            ((timedelta(0), NINE), (7 * DAY, TWENTY_EIGHT)),
            8 * DAY,
            K.CONTINUE,
            "BL-1",
            28 * DAY,
        ),
        # BD-1 <= 50% (exactly 50% included): 28 from the start, no step-up
        (BD1_BLASTS_50, RUNNING_28, 3 * DAY, K.CONTINUE, "BL-1", 28 * DAY),
        (BD1_BLASTS_50, (), 3 * DAY, K.CONTINUE, "BL-1", 28 * DAY),
        # 28 ug/day before the plan's step-up day
        (BD2, RUNNING_28, 3 * DAY, K.REDUCE_DOSE, "BD-1/BD-2", None),
        # the cycle is complete after 28 infusion days
        (BD1_BLASTS_50, RUNNING_28, 28 * DAY - MINUTE, K.CONTINUE, "BL-1", 28 * DAY),
        (BD1_BLASTS_50, RUNNING_28, 28 * DAY, K.END_INFUSION, "BL-1", 28 * DAY),
        (BD1_BLASTS_50, RUNNING_28, 29 * DAY, K.END_INFUSION, "BL-1", 28 * DAY),
        # not started yet: start at the plan's dose with premedication (BL-5)
        (BD2, (), -HOUR, K.NOT_STARTED, "BL-5", timedelta(0)),
    ],
)
def test_next_step_running(plan, doses, now, kind, rule, due):
    step = expected_next_step(course(doses=doses), plan, at(now))
    assert (step.kind, step.rule) == (kind, rule)
    assert step.due == (at(due) if due is not None else None)


@pytest.mark.verifies("BL-1")
@pytest.mark.parametrize(
    ("interruptions", "now", "kind", "due"),
    [
        (((10 * DAY, 12 * DAY),), 30 * DAY - MINUTE, K.CONTINUE, 30 * DAY),
        (((10 * DAY, 12 * DAY),), 30 * DAY, K.END_INFUSION, 30 * DAY),  # 2 days later
        (((28 * DAY, None),), 29 * DAY, K.END_INFUSION, 28 * DAY),  # complete, then stopped
        (((27 * DAY, None),), 29 * DAY, K.RESTART, 34 * DAY),  # one day still to give
    ],
)
def test_cycle_complete_after_28_infusion_days(interruptions, now, kind, due):
    the_course = course(doses=RUNNING_28, interruptions=interruptions)
    step = expected_next_step(the_course, BD1_BLASTS_50, at(now))
    assert (step.kind, step.due) == (kind, at(due))


@pytest.mark.verifies("BD-2", "BL-4")
def test_step_up_waits_for_infusion_time_lost_to_an_interruption():
    # 2 days interrupted in the reduced-dose week: infusion day 8 begins 2 days later, and
    # BL-4 adds 7 days from the restart
    the_course = course(doses=((timedelta(0), NINE),), interruptions=((2 * DAY, 4 * DAY),))
    step = expected_next_step(the_course, BD2, at(5 * DAY))
    assert (step.kind, step.rule, step.due) == (K.STEP_UP, "BL-4", at(11 * DAY))


@pytest.mark.verifies("BD-1", "BD-2", "BL-5")
@pytest.mark.parametrize(
    ("plan", "doses", "now", "message"),
    [
        (
            BD1_BLASTS_51,
            ((timedelta(0), NINE),),
            3 * DAY,
            "Step up to 28 µg/day at 2026-03-19 08:00 (infusion day 8, BD-1/BD-2); "
            "dexamethasone premedication expected before the step-up (BL-5).",
        ),
        (
            BD2,
            ((timedelta(0), NINE),),
            10 * DAY,
            "Step up to 28 µg/day now: due since 2026-03-19 08:00 (infusion day 8, BD-1/BD-2); "
            "dexamethasone premedication expected before the step-up (BL-5).",
        ),
        (
            BD2,
            (),
            -HOUR,
            "Start blinatumomab at 9 µg/day at 2026-03-12 08:00; dexamethasone premedication "
            "expected before the start (BL-5).",
        ),
        (
            BD1_BLASTS_50,
            RUNNING_28,
            3 * DAY,
            "Continue at 28 µg/day: 3.0 of 28 infusion days given; the cycle is complete at "
            "2026-04-09 08:00 if not interrupted (BL-1).",
        ),
    ],
)
def test_next_step_messages(plan, doses, now, message):
    assert expected_next_step(course(doses=doses), plan, at(now)).message == message


# --- BL-4: restart at 9 ug/day, step up no earlier than 7 days later -------------------------

RESTART = 5 * DAY
INTERRUPTED_28 = ((STOPPED_AT, RESTART),)


@pytest.mark.verifies("BL-4")
@pytest.mark.parametrize(
    ("doses", "now", "kind", "due"),
    [
        (((RESTART, NINE),), 6 * DAY, K.STEP_UP, RESTART + 7 * DAY),
        (((RESTART, NINE),), RESTART + 7 * DAY - MINUTE, K.STEP_UP, RESTART + 7 * DAY),
        (((RESTART, NINE),), RESTART + 7 * DAY, K.STEP_UP, RESTART + 7 * DAY),
        (((RESTART, NINE), (RESTART + 7 * DAY, TWENTY_EIGHT)), 13 * DAY, K.CONTINUE, 30 * DAY),
        # stepped up a day too early, or restarted at 28: above what BL-4 allows
        (
            ((RESTART, NINE), (RESTART + 6 * DAY, TWENTY_EIGHT)),
            11 * DAY + HOUR,
            K.REDUCE_DOSE,
            None,
        ),
        ((), 6 * DAY, K.REDUCE_DOSE, None),
    ],
)
def test_bl4_step_up_after_restart(doses, now, kind, due):
    the_course = course(doses=((timedelta(0), TWENTY_EIGHT), *doses), interruptions=INTERRUPTED_28)
    step = expected_next_step(the_course, BD1_BLASTS_50, at(now))
    assert step.kind == kind
    assert step.due == (at(due) if due is not None else None)
    if kind != K.CONTINUE:
        assert step.rule == "BL-4"


@pytest.mark.verifies("BL-4", "BL-5")
def test_bl4_step_up_message():
    the_course = course(
        doses=((timedelta(0), TWENTY_EIGHT), (RESTART, NINE)), interruptions=INTERRUPTED_28
    )
    step = expected_next_step(the_course, BD1_BLASTS_50, at(6 * DAY))
    assert step.message == (
        "Step up to 28 µg/day no earlier than 2026-03-24 08:00 (7 days after the restart at "
        "2026-03-17 08:00, BL-4, if the adverse reaction has not recurred); dexamethasone "
        "premedication expected before the step-up (BL-5)."
    )


@pytest.mark.verifies("BD-1", "BD-2", "BL-4")
@pytest.mark.parametrize(
    ("plan", "interruptions", "now", "allowed"),
    [
        (BD2, (), 7 * DAY - MINUTE, (NINE,)),
        (BD2, (), 7 * DAY, (TWENTY_EIGHT,)),
        (BD1_BLASTS_50, (), timedelta(0), (TWENTY_EIGHT,)),
        (BD1_BLASTS_50, INTERRUPTED_28, RESTART + 7 * DAY - MINUTE, (NINE,)),
        (BD1_BLASTS_50, INTERRUPTED_28, RESTART + 7 * DAY, (NINE, TWENTY_EIGHT)),
        # restart at day 2: plan day 8 begins at day 8, BL-4 allows 28 only from day 9
        (BD2, ((DAY, 2 * DAY),), 8 * DAY, (NINE,)),
        (BD2, ((DAY, 2 * DAY),), 9 * DAY - MINUTE, (NINE,)),
        (BD2, ((DAY, 2 * DAY),), 9 * DAY, (NINE, TWENTY_EIGHT)),
    ],
)
def test_allowed_doses_at(plan, interruptions, now, allowed):
    assert allowed_doses_at(course(interruptions=interruptions), plan, at(now)) == allowed


# --- ended ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "interruptions", "message"),
    [
        (
            28 * DAY,
            (),
            "Infusion ended at 2026-04-09 08:00 after 28.0 of 28 infusion days; nothing further "
            "in this cycle.",
        ),
        (
            20 * DAY,
            ((10 * DAY, 20 * DAY),),
            "Infusion ended at 2026-04-01 08:00 after 10.0 of 28 infusion days; nothing further "
            "in this cycle.",
        ),
    ],
)
def test_next_step_after_the_end(end, interruptions, message):
    the_course = course(doses=RUNNING_28, interruptions=interruptions, end=end)
    step = expected_next_step(the_course, BD1_BLASTS_50, at(40 * DAY))
    assert step == NextStep(K.ENDED, message)


def test_a_plan_is_required():
    with pytest.raises(ValueError, match="no dose steps"):
        expected_next_step(course(), [], at(DAY))
