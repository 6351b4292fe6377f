"""The rules read what happened, whenever and in whatever order it was entered: a toxicity
nobody answered stays a deviation however late it comes in, a cycle's end is not an answer,
a relapse marrow is not a CR sample, and times read as the site's clock reads them."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from protocol.infusion import DoseChange, InfusionCourse, infusion_days_given
from protocol.rules import evaluate
from tests.protocol.test_rules import (
    DAY,
    HOUR,
    START,
    ae,
    cycle,
    dose,
    lab,
    mrd,
    negative,
    pause,
    quant,
    subject,
    visit,
)

pytestmark = pytest.mark.verifies("UR-ALR-01")

SAMPLE = 2 * DAY  # study day 14, 08:00, the infusion running (cycle from day 12, 08:00)
COMPLETED = dict(end=28 * DAY, end_reason="completed")  # day 12 to day 40
AFTER = START + 40 * DAY  # long after the cycle


def _rules(facts, now=AFTER) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in evaluate(facts, now):
        found.setdefault(finding.rule, []).append(finding.message)
    return found


def _lab(**extra):
    fact = lab("alt", SAMPLE, 3, "5.025", "lab:1")
    return replace(fact, **extra)


# --- AL-HEP: entered after the completed cycle, or answered by an unrelated interruption -----


@pytest.mark.verifies("AL-HEP", "TX-HEP")
@pytest.mark.parametrize(
    ("interruptions", "end", "fires"),
    [
        ([], COMPLETED, True),  # the cycle's completion 26 days later is not an answer
        ([pause(18 * DAY, 19 * DAY, "infection")], COMPLETED, True),  # day 30, for an infection
        ([pause(SAMPLE + 3 * HOUR, SAMPLE + 2 * DAY)], COMPLETED, False),  # the same day
        ([pause(SAMPLE + DAY + 15 * HOUR, SAMPLE + 3 * DAY)], COMPLETED, False),  # the next day
        ([pause(SAMPLE + 2 * DAY, SAMPLE + 3 * DAY)], COMPLETED, True),  # the day after that
        ([], dict(end=SAMPLE + 5 * HOUR, end_reason="discontinued"), False),  # stopped for it
    ],
)
def test_al_hep_stays_until_answered_however_late(interruptions, end, fires):
    facts = subject(cycles=[cycle(interruptions=interruptions, **end)], labs=[_lab()])
    assert ("AL-HEP" in _rules(facts)) is fires


@pytest.mark.verifies("AL-HEP", "TX-HEP")
def test_a_lab_entered_after_the_cycle_says_so_and_asks_for_what_is_needed_now():
    entered = START + 30 * DAY  # typed in 28 days after the sample
    facts = subject(cycles=[cycle(**COMPLETED)], labs=[_lab(entered_at=entered)])
    (message,) = _rules(facts)["AL-HEP"]
    assert "ALT 5.02 × ULN (grade 3) on 2026-03-14, study day 14" in message
    assert "(entered 28 days after the fact)" in message
    assert "no interruption followed it by 2026-03-16 00:00" in message
    assert "Record the interruption if the infusion was stopped, or why it continued" in message


@pytest.mark.verifies("AL-HEP", "TX-HEP")
def test_on_the_day_itself_the_alert_asks_to_interrupt():
    facts = subject(cycles=[cycle()], labs=[_lab(entered_at=START + SAMPLE + HOUR)])
    (message,) = _rules(facts, now=START + SAMPLE + 2 * HOUR)["AL-HEP"]
    assert "interrupt blinatumomab (TX-HEP), or record why the infusion continues." in message
    assert "entered" not in message


# --- AL-CRS, AL-NEU: the same reading ---------------------------------------------------------

ONSET = date(2026, 3, 14)


@pytest.mark.verifies("AL-CRS", "AL-NEU", "TX-CRS", "TX-NEU")
@pytest.mark.parametrize("category", ["crs", "neurological"])
@pytest.mark.parametrize(
    ("interruptions", "end", "fires"),
    [
        ([], COMPLETED, True),
        ([pause(18 * DAY, 19 * DAY, "infection")], COMPLETED, True),
        ([pause(2 * DAY + 10 * HOUR, 4 * DAY, "crs")], COMPLETED, False),  # the onset date
        ([pause(3 * DAY, 4 * DAY, "crs")], COMPLETED, False),  # the next day
        ([pause(4 * DAY, 5 * DAY, "crs")], COMPLETED, True),  # two days later
    ],
)
def test_al_crs_and_al_neu_stay_until_answered(category, interruptions, end, fires):
    event = ae(category, 3, ONSET, entered_at=START + 30 * DAY)
    facts = subject(cycles=[cycle(interruptions=interruptions, **end)], aes=[event])
    rule = "AL-CRS" if category == "crs" else "AL-NEU"
    found = _rules(facts)
    assert (rule in found) is fires
    if fires:
        assert "(entered 28 days after the fact)" in found[rule][0]
        assert "no interruption followed it" in found[rule][0]


# --- A cycle ended at the restart, then a new cycle at 9 µg/day (BL-2, BL-4) -------------------


@pytest.mark.verifies("AL-DOSE", "BL-2", "BL-4")
def test_a_cycle_ended_at_the_restart_and_a_new_cycle_at_9_raise_no_dose_alert():
    restart = 12 * DAY  # after an interruption of 9 days from day 15
    first = cycle(
        interruptions=[pause(3 * DAY, restart, "hepatic")],
        doses=[*cycle().dose_changes, dose(restart, 9, "restart", "dose:r")],
        end=restart,
        end_reason="new_cycle",
    )
    second = cycle(
        doses=[dose(restart, 9, "start", "dose:s")], number=2, start=START + restart,
        record="cycle:2",
    )  # fmt: skip
    found = _rules(subject(cycles=[first, second]), now=START + restart + HOUR)
    assert "AL-DOSE" not in found


@pytest.mark.verifies("AL-DOSE", "BL-4")
def test_a_28_restart_inside_the_same_cycle_still_raises_al_dose():
    first = cycle(
        interruptions=[pause(3 * DAY, 5 * DAY, "hepatic")],
        doses=[*cycle().dose_changes, dose(5 * DAY, 28, "restart", "dose:r")],
    )
    assert "AL-DOSE" in _rules(subject(cycles=[first]), now=START + 5 * DAY + HOUR)


# --- MR-4, MR-5 after a haematological relapse ------------------------------------------------


@pytest.mark.verifies("AL-MRD-TRIGGER", "MR-4")
@pytest.mark.parametrize(
    ("relapses", "fires"),
    [
        ((), True),
        ((date(2026, 6, 28),), False),  # the relapse marrow of the same day (study day 120)
        ((date(2026, 5, 1),), False),  # relapsed before
        ((date(2026, 6, 29),), True),  # relapsed the day after the sample
    ],
)
def test_mrd_trigger_only_in_cr(relapses, fires):
    facts = subject(mrd=[mrd("W18", 120, quant("5E-2"), "mrd:w18")], relapses=relapses)
    found = _rules(facts)
    assert ("AL-MRD-TRIGGER" in found) is fires
    if fires:
        assert (
            "in haematological CR (CR at day 40, no relapse recorded)" in found["AL-MRD-TRIGGER"][0]
        )


@pytest.mark.verifies("AL-MOL-RELAPSE", "MR-5")
def test_molecular_relapse_not_after_a_haematological_one():
    results = [mrd("W11", 75, negative(), "mrd:w11"), mrd("FU", 150, quant("3E-4"), "mrd:fu")]
    assert "AL-MOL-RELAPSE" in _rules(subject(mrd=results))
    relapsed = subject(mrd=results, relapses=(date(2026, 7, 28),))  # study day 150
    assert "AL-MOL-RELAPSE" not in _rules(relapsed)


# --- AL-W11-MISSING, AL-VISIT-OVERDUE: not for whom the visit no longer applies --------------

W11_END = date(2026, 5, 24)


@pytest.mark.verifies("AL-W11-MISSING", "MR-3")
@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        ({}, True),
        ({"visits": [visit(missed=True)]}, False),  # recorded as missed, with its reason
        ({"ended_on": W11_END}, False),  # withdrew (or died) by the end of the window
        ({"ended_on": W11_END + timedelta(days=1)}, True),  # still in the study then
        ({"day40_response": "refractory"}, False),  # not evaluable for MR-3
        ({"igtr_target": False}, False),  # no IG/TR target: not evaluable for MR-3
        ({"igtr_target": None}, True),  # not recorded yet: still asked for
    ],
)
def test_al_w11_missing_only_where_the_endpoint_is_expected(changes, fires):
    facts = subject(**{"visits": [visit()], **changes})
    assert ("AL-W11-MISSING" in _rules(facts, now=datetime(2026, 6, 1, 12))) is fires


@pytest.mark.verifies("AL-VISIT-OVERDUE")
def test_no_visit_is_overdue_after_the_study_ended():
    late = visit("W18", window_end=date(2026, 6, 1), record="visit:W18")
    now = datetime(2026, 6, 10, 12)
    assert "AL-VISIT-OVERDUE" in _rules(subject(visits=[late]), now=now)
    ended = subject(visits=[late], ended_on=date(2026, 5, 20))
    assert "AL-VISIT-OVERDUE" not in _rules(ended, now=now)


# --- The site's clock: zones in messages, and days across the clock changes -------------------

PRAGUE = ZoneInfo("Europe/Prague")


@pytest.mark.verifies("UR-REC-02", "AL-SAE-CLOCK")
def test_times_in_messages_name_the_sites_zone():
    start = datetime(2026, 10, 20, 8, 0, tzinfo=PRAGUE)
    facts = subject(
        cycles=[cycle(start=start, doses=[], interruptions=[])],
        aes=[ae("crs", 3, date(2026, 10, 20), serious=True,
                awareness_at=datetime(2026, 10, 20, 10, 0, tzinfo=PRAGUE))],
    )  # fmt: skip
    found = _rules(facts, now=datetime(2026, 10, 22, 12, 0, tzinfo=PRAGUE))
    (clock,) = found["AL-SAE-CLOCK"]
    assert "since 2026-10-20 10:00 CEST" in clock and "by 2026-10-21 10:00 CEST" in clock


@pytest.mark.verifies("UR-REC-02", "BL-1")
@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2026, 10, 1, 9, 0), D("28.0")),  # over the last Sunday of October
        (datetime(2026, 3, 15, 9, 0), D("28.0")),  # over the last Sunday of March
        (datetime(2026, 6, 1, 9, 0), D("28.0")),
    ],
)
def test_28_times_24_hours_are_28_infusion_days_across_a_clock_change(start, expected):
    begin = start.replace(tzinfo=PRAGUE)
    end = (begin.astimezone(ZoneInfo("UTC")) + 28 * DAY).astimezone(PRAGUE)
    course = InfusionCourse(start=begin, end=end, dose_changes=(DoseChange(begin, D(28)),))
    assert infusion_days_given(course, end + HOUR) == expected


# --- What was given clears what was asked for -------------------------------------------------


@pytest.mark.verifies("AL-MRD-TRIGGER", "MR-4")
@pytest.mark.parametrize(
    ("started", "fires"),
    [
        ((), True),
        ((date(2026, 7, 10),), False),  # the MRD-triggered course, after the week-18 sample
        ((date(2026, 5, 1),), True),  # a course before the sample does not answer it
    ],
)
def test_the_course_given_clears_the_referral(started, fires):
    facts = subject(mrd=[mrd("W18", 120, quant("5E-3"), "mrd:w18")],
                    mrd_blinatumomab_started=started)  # fmt: skip
    assert ("AL-MRD-TRIGGER" in _rules(facts)) is fires


@pytest.mark.verifies("AL-REFRACTORY")
@pytest.mark.parametrize(("salvage", "fires"), [((), True), ((date(2026, 4, 20),), False)])
def test_a_salvage_therapy_clears_the_refractory_alert(salvage, fires):
    facts = subject(day40_response="refractory", salvage_started=salvage)
    assert ("AL-REFRACTORY" in _rules(facts)) is fires
