"""rules §9: the alerts of the rules engine, each firing, not firing and clearing."""

from dataclasses import FrozenInstanceError, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from protocol.mrd import Method, MrdResult, ResultClass
from protocol.rules import (
    ALERT_RULES,
    Actor,
    AeFact,
    AlertRule,
    CycleFact,
    DecisionFact,
    DecisionKind,
    DoseChangeFact,
    Finding,
    InterruptionFact,
    LabFact,
    MrdFact,
    Severity,
    SubjectFacts,
    VisitFact,
    evaluate,
)
from protocol.schedule import DEFAULT_SETTINGS, ProtocolSettings

pytestmark = pytest.mark.verifies("UR-ALR-01")

D = Decimal
DAY1 = date(2026, 3, 1)  # study day 12 = 2026-03-12
START = datetime(2026, 3, 12, 8, 0)  # blinatumomab starts on study day 12, 08:00
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
NOW = datetime(2026, 3, 20, 12, 0)
INV, M, DM, LAB, SPONSOR = (
    Actor.INVESTIGATOR,
    Actor.MONITOR,
    Actor.DATA_MANAGER,
    Actor.CENTRAL_LAB,
    Actor.SPONSOR_SAFETY,
)


# --- Facts -----------------------------------------------------------------------------------


def dose(offset, ug, kind="step_up", record=None):
    return DoseChangeFact(record or f"dose:{offset}", START + offset, D(ug), kind)


def pause(start, end=None, reason="hepatic", record="interruption:1"):
    """An interruption; offsets from START."""
    return InterruptionFact(record, START + start, START + end if end is not None else None, reason)


BD2_DOSES = (dose(timedelta(0), 9, "start", "dose:1"), dose(7 * DAY, 28, "step_up", "dose:2"))


def cycle(
    doses=BD2_DOSES, interruptions=(), end=None, end_reason="", number=1, start=START, record=None
):
    return CycleFact(
        record or f"cycle:{number}",
        number,
        start,
        START + end if end is not None else None,
        end_reason,
        tuple(doses),
        tuple(interruptions),
    )


def lab(test, offset, grade, times_uln, record="lab:1"):
    return LabFact(record, test, START + offset, grade, D(times_uln) if times_uln else None)


def ae(category, grade, onset, *, end=None, seizures=0, record="ae:1", **extra):
    values = dict(serious=False, awareness_at=None, sponsor_notified_at=None)
    values.update(extra)
    return AeFact(record, category, grade, onset, end, seizure_count=seizures, **values)


def mrd(timepoint, day, result, record="mrd:1"):
    return MrdFact(record, timepoint, day, result)


def quant(value, method=Method.QPCR):
    return MrdResult(ResultClass.QUANTIFIABLE, value=D(value), method=method)


def negative(sensitivity="1E-5", method=Method.QPCR):
    return MrdResult(ResultClass.NEGATIVE, sensitivity=D(sensitivity), method=method)


def pnq(method=Method.QPCR):
    return MrdResult(
        ResultClass.PNQ, sensitivity=D("1E-5"), quantitative_range=D("1E-4"), method=method
    )


def visit(code="W11", window_end=date(2026, 5, 24), has_data=False, missed=False, record=None):
    return VisitFact(record or f"visit:{code}", code, f"Visit {code}", window_end, has_data, missed)


def decision(kind, about="", record="decision:1"):
    return DecisionFact(record, kind, date(2026, 3, 20), about)


def subject(**changes) -> SubjectFacts:
    values = dict(
        study_id="BC-01-001",
        day1=DAY1,
        blinatumomab_rule="BD-2",
        day11_blasts=None,
        settings=DEFAULT_SETTINGS,
        cycles=(cycle(),),
        labs=(),
        aes=(),
        mrd=(),
        day40_response="CR",
        visits=(),
        decisions=(),
    )
    values.update(changes)
    for name in ("cycles", "labs", "aes", "mrd", "visits", "decisions"):
        values[name] = tuple(values[name])
    return SubjectFacts(**values)


def found(facts: SubjectFacts, rule: str, now: datetime = NOW) -> list[Finding]:
    return [finding for finding in evaluate(facts, now) if finding.rule == rule]


def records(facts: SubjectFacts, rule: str, now: datetime = NOW) -> list[str]:
    return [finding.record for finding in found(facts, rule, now)]


# --- AL-HEP (TX-HEP) -------------------------------------------------------------------------

SAMPLE = 2 * DAY  # 2026-03-14 08:00, study day 14, running at 9 ug/day


@pytest.mark.verifies("AL-HEP", "TX-HEP")
@pytest.mark.parametrize(
    ("test", "grade", "times_uln", "fires"),
    [
        ("alt", 2, "5.0", False),  # 5.0 x ULN exactly is grade 2: no TX-HEP
        ("alt", 3, "5.01", True),
        ("alt", None, "5.01", True),  # above 5 x ULN whatever the grade
        ("alt", 2, "4.99", False),
        ("alt", 3, None, True),  # grade 3 against an abnormal baseline, no ULN
        ("alt", 4, "21", True),
        ("ast", 3, "6.0", True),
        ("ast", 2, "5.0", False),
        ("bilirubin", 2, "3.0", False),  # 3.0 x ULN exactly: not above
        ("bilirubin", 3, "3.01", True),
        ("bilirubin", 3, None, False),  # bilirubin counts by x ULN only
        ("ggt", 3, "6.0", False),
        ("alp", 4, "25", False),
        ("creatinine", 3, "4", False),
    ],
)
def test_al_hep_criteria(test, grade, times_uln, fires):
    facts = subject(labs=[lab(test, SAMPLE, grade, times_uln)])
    assert records(facts, "AL-HEP") == (["lab:1"] if fires else [])


@pytest.mark.verifies("AL-HEP", "TX-HEP")
@pytest.mark.parametrize(
    ("sample", "cycles", "fires"),
    [
        (SAMPLE, [cycle()], True),
        (-HOUR, [cycle()], False),  # before the infusion started
        (timedelta(0), [cycle()], True),  # at the start: the infusion runs
        (SAMPLE, [cycle(interruptions=[pause(DAY, 3 * DAY)])], False),  # while interrupted
        (SAMPLE, [cycle(interruptions=[pause(SAMPLE, 3 * DAY)])], False),  # interrupted at it
        (SAMPLE, [cycle(interruptions=[pause(DAY, SAMPLE)])], True),  # restarted at the sample
        (SAMPLE, [cycle(end=DAY, end_reason="discontinued")], False),  # after the infusion
        (SAMPLE, [], False),  # no infusion at all
    ],
)
def test_al_hep_only_while_the_infusion_runs(sample, cycles, fires):
    facts = subject(cycles=cycles, labs=[lab("alt", sample, 3, "6.0")])
    assert bool(found(facts, "AL-HEP")) is fires


@pytest.mark.verifies("AL-HEP", "TX-HEP")
@pytest.mark.parametrize(
    ("cycles", "decisions", "fires"),
    [
        ([cycle()], [], True),
        ([cycle(interruptions=[pause(SAMPLE + HOUR)])], [], False),  # interrupted after the lab
        # two days later: not an answer to this lab (an interruption covers the lab date)
        ([cycle(interruptions=[pause(SAMPLE + 2 * DAY, SAMPLE + 3 * DAY)])], [], True),
        ([cycle(interruptions=[pause(SAMPLE + DAY, SAMPLE + 3 * DAY)])], [], False),  # next day
        ([cycle(interruptions=[pause(HOUR, 2 * HOUR)])], [], True),  # ended before the lab
        ([cycle(end=SAMPLE + DAY, end_reason="discontinued")], [], False),
        ([cycle()], [decision("hep_justification", "lab:1")], False),
        ([cycle()], [decision("hep_justification", "lab:2")], True),  # about another lab
        ([cycle()], [decision("dose_deviation_reason", "lab:1")], True),  # another kind
    ],
)
def test_al_hep_clears(cycles, decisions, fires):
    facts = subject(cycles=cycles, labs=[lab("alt", SAMPLE, 3, "6.0")], decisions=decisions)
    assert bool(found(facts, "AL-HEP")) is fires


@pytest.mark.verifies("AL-HEP", "TX-HEP")
def test_al_hep_finding():
    facts = subject(labs=[lab("alt", SAMPLE, 3, "6.0", "lab:12")])
    (finding,) = found(facts, "AL-HEP", now=START + SAMPLE + 2 * HOUR)  # the day of the sample
    assert finding.message == (
        "ALT 6.0 × ULN (grade 3) on 2026-03-14, study day 14, during the blinatumomab infusion "
        "(cycle 1): interrupt blinatumomab (TX-HEP), or record why the infusion continues."
    )
    assert finding.key == ("AL-HEP", "lab:12")
    assert finding.severity == Severity.URGENT
    assert finding.actors == {INV, M}
    assert "TX-HEP" in finding.reference and "AL-HEP" in finding.reference


@pytest.mark.verifies("AL-HEP", "TX-HEP")
@pytest.mark.parametrize(
    ("test", "grade", "times_uln", "shown"),
    [
        ("alt", 4, "21", "ALT 21.0 × ULN (grade 4)"),
        ("alt", 3, "5.004", "ALT 5.004 × ULN (grade 3)"),  # never shown as 5.00
        ("alt", 3, "6.15384", "ALT 6.15 × ULN (grade 3)"),
        ("alt", 3, None, "ALT (grade 3)"),
        ("bilirubin", None, "3.5", "Total bilirubin 3.5 × ULN on"),
    ],
)
def test_al_hep_message_values(test, grade, times_uln, shown):
    (finding,) = found(subject(labs=[lab(test, SAMPLE, grade, times_uln)]), "AL-HEP")
    assert finding.message.startswith(shown)
    assert ("consider permanent discontinuation" in finding.message) is (grade == 4)


# --- AL-HEP-RESTART --------------------------------------------------------------------------

HEP_STOP = 3 * DAY  # hepatic interruption from 2026-03-15 08:00


@pytest.mark.verifies("AL-HEP-RESTART", "TX-HEP", "BL-4")
@pytest.mark.parametrize(
    ("labs", "fires"),
    [
        ([lab("alt", 4 * DAY, 1, "2", "lab:2"), lab("ast", 4 * DAY, 0, "1", "lab:3")], True),
        ([lab("alt", 4 * DAY, 2, "4", "lab:2"), lab("ast", 4 * DAY, 0, "1", "lab:3")], False),
        ([lab("alt", 4 * DAY, 1, "2", "lab:2"), lab("ast", 4 * DAY, 2, "4", "lab:3")], False),
        ([lab("alt", 4 * DAY, 1, "2", "lab:2"), lab("ast", 4 * DAY, None, "1", "lab:3")], False),
        ([lab("alt", 4 * DAY, 1, "2", "lab:2")], True),  # AST never measured: ALT decides
        ([lab("alt", SAMPLE, 3, "6"), lab("alt", 4 * DAY, 1, "2", "lab:2")], True),
        # the grade 3 AST before the interruption is not re-measured: not yet
        ([lab("ast", SAMPLE, 3, "6"), lab("alt", 4 * DAY, 1, "2", "lab:2")], False),
        # the latest value decides
        ([lab("alt", 4 * DAY, 3, "6", "lab:2"), lab("alt", 5 * DAY, 1, "2", "lab:3")], True),
        ([lab("alt", 4 * DAY, 1, "2", "lab:2"), lab("alt", 5 * DAY, 2, "4", "lab:3")], False),
        ([lab("alt", SAMPLE, 0, "1"), lab("ast", SAMPLE, 0, "1", "lab:2")], False),  # before it
        ([lab("alt", HEP_STOP, 0, "1")], False),  # at the interruption start: not after it
        ([], False),
    ],
)
def test_al_hep_restart(labs, fires):
    facts = subject(cycles=[cycle(interruptions=[pause(HEP_STOP)])], labs=labs)
    assert records(facts, "AL-HEP-RESTART") == (["interruption:1"] if fires else [])


@pytest.mark.verifies("AL-HEP-RESTART", "TX-HEP", "BL-4")
@pytest.mark.parametrize(
    ("interruption", "end", "fires"),
    [
        (pause(HEP_STOP), None, True),
        (pause(HEP_STOP, 5 * DAY), None, False),  # restart recorded: cleared
        (pause(HEP_STOP, reason="crs"), None, False),  # not a TX-HEP interruption
        (pause(HEP_STOP, reason="other"), None, False),
        (pause(HEP_STOP), 4 * DAY + HOUR, False),  # the cycle has ended
    ],
)
def test_al_hep_restart_needs_an_open_hepatic_interruption(interruption, end, fires):
    labs = [lab("alt", 4 * DAY, 1, "2", "lab:2"), lab("ast", 4 * DAY, 1, "2", "lab:3")]
    cycles = [
        cycle(interruptions=[interruption], end=end, end_reason="discontinued" if end else "")
    ]
    assert bool(found(subject(cycles=cycles, labs=labs), "AL-HEP-RESTART")) is fires


@pytest.mark.verifies("AL-HEP-RESTART", "TX-HEP", "BL-4")
def test_al_hep_restart_finding():
    facts = subject(
        cycles=[cycle(interruptions=[pause(HEP_STOP)])],
        labs=[lab("alt", 4 * DAY, 1, "2", "lab:2"), lab("ast", 4 * DAY, 0, "1", "lab:3")],
    )
    (finding,) = found(facts, "AL-HEP-RESTART")
    assert "restart blinatumomab at 9 µg/day" in finding.message.lower()
    assert "BL-4" in finding.message and "2026-03-22 08:00" in finding.message  # BL-1: 7 days
    assert finding.severity == Severity.WARNING and finding.actors == {INV}


# --- AL-CRS, AL-NEU (TX-CRS, TX-NEU) ---------------------------------------------------------

ONSET = date(2026, 3, 14)  # study day 14


@pytest.mark.verifies("AL-CRS", "TX-CRS")
@pytest.mark.parametrize(
    ("event", "cycles", "fires"),
    [
        (ae("crs", 3, ONSET), [cycle()], True),
        (ae("crs", 2, ONSET), [cycle()], False),
        (ae("crs", 4, ONSET), [cycle()], True),
        (ae("neurological", 3, ONSET), [cycle()], False),  # AL-NEU's
        (ae("crs", 3, date(2026, 3, 11)), [cycle()], False),  # before the infusion
        (ae("crs", 3, date(2026, 3, 12)), [cycle()], True),  # the start day
        (ae("crs", 3, ONSET), [], False),
        # interrupted the whole onset day
        (ae("crs", 3, ONSET), [cycle(interruptions=[pause(DAY, 4 * DAY, "other")])], False),
        # restarted on the onset day at 12:00: it ran that day
        (ae("crs", 3, ONSET), [cycle(interruptions=[pause(DAY, 2 * DAY + 4 * HOUR)])], True),
        # an interruption that ended before the onset does not clear it
        (ae("crs", 3, ONSET), [cycle(interruptions=[pause(DAY, DAY + HOUR, "other")])], True),
        # cleared: interrupted on the onset day, or later
        (
            ae("crs", 3, ONSET),
            [cycle(interruptions=[pause(2 * DAY + 2 * HOUR, None, "crs")])],
            False,
        ),
        # two days after the onset date: not an answer to it (the reading of AL-CRS)
        (ae("crs", 3, ONSET), [cycle(interruptions=[pause(4 * DAY, 5 * DAY, "crs")])], True),
        # the next day still answers it
        (ae("crs", 3, ONSET), [cycle(interruptions=[pause(3 * DAY, 5 * DAY, "crs")])], False),
        # cleared: discontinued
        (ae("crs", 4, ONSET), [cycle(end=3 * DAY, end_reason="discontinued")], False),
    ],
)
def test_al_crs(event, cycles, fires):
    assert records(subject(cycles=cycles, aes=[event]), "AL-CRS") == (["ae:1"] if fires else [])


@pytest.mark.verifies("AL-CRS", "TX-CRS")
@pytest.mark.parametrize(
    ("grade", "action"),
    [
        (3, "interrupt blinatumomab and give dexamethasone; restart at 9 µg/day when resolved"),
        (4, "discontinue blinatumomab permanently (TX-CRS: grade 4)"),
    ],
)
def test_al_crs_says_interrupt_or_discontinue(grade, action):
    (finding,) = found(subject(aes=[ae("crs", grade, ONSET)]), "AL-CRS")
    assert action in finding.message
    assert "2026-03-14, study day 14" in finding.message
    assert finding.severity == Severity.URGENT and finding.actors == {INV, M}


AT_28 = [cycle(doses=[dose(timedelta(0), 28, "start")])]  # BD-1, blasts <= 50%


@pytest.mark.verifies("AL-NEU", "TX-NEU")
@pytest.mark.parametrize(
    ("event", "cycles", "now", "reasons"),
    [
        (ae("neurological", 3, ONSET), AT_28, NOW, None),  # interrupt only
        (ae("neurological", 4, ONSET), AT_28, NOW, "grade 4"),
        (ae("neurological", 3, ONSET, seizures=1), AT_28, NOW, None),
        (ae("neurological", 3, ONSET, seizures=2), AT_28, NOW, "2 seizures"),
        (ae("neurological", 3, ONSET), [cycle()], NOW, "began while blinatumomab ran at 9 µg/day"),
        # step-up day 2026-03-19 08:00: 9 ug/day ran that morning
        (ae("neurological", 3, date(2026, 3, 19)), [cycle()], NOW, "at 9 µg/day"),
        (ae("neurological", 3, date(2026, 3, 20)), [cycle()], NOW, None),  # 28 all day
        (ae("neurological", 3, ONSET, end=ONSET + 7 * DAY), AT_28, NOW, None),
        (
            ae("neurological", 3, ONSET, end=ONSET + 8 * DAY),
            AT_28,
            NOW,
            "resolved after more than 7 days",
        ),
        (ae("neurological", 3, ONSET), AT_28, datetime(2026, 3, 22, 8), "not resolved after"),
        (ae("neurological", 3, ONSET), AT_28, datetime(2026, 3, 21, 8), None),
        (ae("neurological", 4, ONSET, seizures=3), [cycle()], NOW, "grade 4; 3 seizures; it"),
    ],
)
def test_al_neu_interrupt_or_discontinue(event, cycles, now, reasons):
    (finding,) = found(subject(cycles=cycles, aes=[event]), "AL-NEU", now)
    if reasons is None:
        assert "interrupt blinatumomab until grade 1 or less for at least 3 days" in finding.message
        assert "discontinue" not in finding.message
    else:
        assert "discontinue blinatumomab permanently (TX-NEU: " in finding.message
        assert reasons in finding.message
    assert finding.severity == Severity.URGENT and finding.actors == {INV, M}


@pytest.mark.verifies("AL-NEU", "TX-NEU")
@pytest.mark.parametrize(
    ("event", "cycles", "fires"),
    [
        (ae("neurological", 3, ONSET), AT_28, True),
        (ae("neurological", 2, ONSET), AT_28, False),
        (ae("crs", 3, ONSET), AT_28, False),
        (ae("neurological", 3, date(2026, 3, 11)), AT_28, False),
        (ae("neurological", 3, ONSET), [cycle(interruptions=[pause(2 * DAY + HOUR)])], False),
        (
            ae("neurological", 4, ONSET),
            [cycle(end=2 * DAY + HOUR, end_reason="discontinued")],
            False,
        ),
    ],
)
def test_al_neu_fires_and_clears(event, cycles, fires):
    assert bool(found(subject(cycles=cycles, aes=[event]), "AL-NEU")) is fires


# --- AL-DOSE (BD-1, BD-2, BL-4) --------------------------------------------------------------

Z = timedelta(0)


@pytest.mark.verifies("AL-DOSE", "BD-1", "BD-2", "BL-2", "BL-4")
@pytest.mark.parametrize(
    ("rule", "blasts", "cycles", "expected"),
    [
        ("BD-2", None, [cycle()], []),
        ("BD-2", None, [cycle(doses=[dose(Z, 28, "start", "dose:1")])], ["dose:1"]),
        (
            "BD-2",
            None,
            [cycle(doses=[dose(Z, 9, "start", "dose:1"), dose(7 * DAY - MINUTE, 28)])],
            [f"dose:{7 * DAY - MINUTE}"],
        ),
        ("BD-1", D(50), [cycle(doses=[dose(Z, 28, "start", "dose:1")])], []),  # 50% -> 28
        ("BD-1", D("50.1"), [cycle(doses=[dose(Z, 28, "start", "dose:1")])], ["dose:1"]),
        ("BD-1", D(51), [cycle()], []),
        ("BD-1", None, [cycle(doses=[dose(Z, 28, "start", "dose:1")])], []),  # cannot judge
        ("BD-1", D(30), [cycle(doses=[dose(Z, 20, "start", "dose:1")])], ["dose:1"]),  # no dose
        # BL-4: after a restart 9 ug/day for 7 days, then 9 or 28
        (
            "BD-1",
            D(30),
            [
                cycle(
                    doses=[dose(Z, 28, "start"), dose(11 * DAY, 9, "restart")],
                    interruptions=[pause(10 * DAY, 11 * DAY)],
                )
            ],
            [],
        ),  # fmt: skip
        (
            "BD-1",
            D(30),
            [
                cycle(
                    doses=[dose(Z, 28, "start"), dose(11 * DAY, 28, "restart", "r")],
                    interruptions=[pause(10 * DAY, 11 * DAY)],
                )
            ],
            ["r"],
        ),  # fmt: skip
        (
            "BD-1",
            D(30),
            [
                cycle(
                    doses=[
                        dose(Z, 28, "start"),
                        dose(11 * DAY, 9, "restart"),
                        dose(18 * DAY, 28, "step_up", "s"),
                    ],
                    interruptions=[pause(10 * DAY, 11 * DAY)],
                )
            ],
            [],
        ),  # fmt: skip
        (
            "BD-1",
            D(30),
            [
                cycle(
                    doses=[
                        dose(Z, 28, "start"),
                        dose(11 * DAY, 9, "restart"),
                        dose(18 * DAY - MINUTE, 28, "step_up", "s"),
                    ],
                    interruptions=[pause(10 * DAY, 11 * DAY)],
                )
            ],
            ["s"],
        ),  # fmt: skip
        # a new cycle (BL-2) restarts at 9 ug/day, whatever the start plan
        ("BD-1", D(30), [cycle(doses=[dose(Z, 28, "start", "c2")], number=2)], ["c2"]),
        ("BD-1", D(30), [cycle(doses=[dose(Z, 9, "start", "c2")], number=2)], []),
    ],
)
def test_al_dose(rule, blasts, cycles, expected):
    facts = subject(blinatumomab_rule=rule, day11_blasts=blasts, cycles=cycles)
    assert records(facts, "AL-DOSE") == expected


@pytest.mark.verifies("AL-DOSE")
@pytest.mark.parametrize(
    ("doses", "decisions", "fires"),
    [
        ([dose(Z, 28, "start", "dose:1")], [], True),
        ([dose(Z, 28, "start", "dose:1"), dose(HOUR, 9, "reduction", "dose:2")], [], False),
        # a later change that is itself a deviation does not correct it
        ([dose(Z, 28, "start", "dose:1"), dose(HOUR, 20, "reduction", "dose:2")], [], True),
        # 28 again once allowed is not a correction of the 28 given too early
        ([dose(Z, 28, "start", "dose:1"), dose(8 * DAY, 28, "step_up", "dose:2")], [], True),
        ([dose(Z, 28, "start", "dose:1")], [decision("dose_deviation_reason", "dose:1")], False),
        ([dose(Z, 28, "start", "dose:1")], [decision("dose_deviation_reason", "dose:9")], True),
    ],
)
def test_al_dose_clears(doses, decisions, fires):
    facts = subject(cycles=[cycle(doses=doses)], decisions=decisions)
    assert ("dose:1" in records(facts, "AL-DOSE")) is fires


@pytest.mark.verifies("AL-DOSE")
def test_al_dose_finding():
    facts = subject(cycles=[cycle(doses=[dose(Z, 9, "start"), dose(6 * DAY, 28, "step_up", "d")])])
    (finding,) = found(facts, "AL-DOSE")
    assert finding.message == (
        "Blinatumomab 28 µg/day from 2026-03-18 08:00 (step-up; cycle 1, infusion day 7, study "
        "day 18): the protocol allows 9 µg/day then (the BD-2 start plan); correct the dose or "
        "record the reason for the deviation."
    )
    assert finding.actors == {INV, M} and finding.severity == Severity.WARNING
    assert finding.reference == "BD-2, AL-DOSE"


# --- AL-INT-LONG (BL-2, BL-3) ----------------------------------------------------------------

STOP = 2 * DAY  # interrupted from 2026-03-14 08:00


@pytest.mark.verifies("AL-INT-LONG", "BL-2", "BL-3")
@pytest.mark.parametrize(
    ("so_far", "settings", "expected"),
    [
        (7 * DAY, DEFAULT_SETTINGS, None),  # exactly 7 days: same cycle (BL-1)
        (7 * DAY + MINUTE, DEFAULT_SETTINGS, "BL-2"),
        (14 * DAY, DEFAULT_SETTINGS, "BL-2"),
        (14 * DAY + MINUTE, DEFAULT_SETTINGS, "BL-3"),
        (10 * DAY + MINUTE, ProtocolSettings(interruption_discontinue_days=10), "BL-3"),
        (10 * DAY, ProtocolSettings(interruption_discontinue_days=10), "BL-2"),
    ],
)
def test_al_int_long_by_length_so_far(so_far, settings, expected):
    facts = subject(cycles=[cycle(interruptions=[pause(STOP)])], settings=settings)
    findings = found(facts, "AL-INT-LONG", START + STOP + so_far)
    if expected is None:
        assert findings == []
        return
    (finding,) = findings
    assert finding.record == "interruption:1"
    assert finding.reference == f"{expected}, AL-INT-LONG"
    if expected == "BL-3":
        assert "discontinue blinatumomab (BL-3)" in finding.message
    else:
        assert "the restart is a new cycle" in finding.message


@pytest.mark.verifies("AL-INT-LONG", "BL-2", "BL-3")
@pytest.mark.parametrize(
    ("length", "fires"), [(7 * DAY, False), (7 * DAY + MINUTE, True), (15 * DAY, True)]
)
def test_al_int_long_restarted_in_the_same_cycle(length, fires):
    facts = subject(cycles=[cycle(interruptions=[pause(STOP, STOP + length)])])
    findings = found(facts, "AL-INT-LONG", START + 40 * DAY)
    assert bool(findings) is fires
    if fires and length < 14 * DAY:
        assert "record the restart as a new cycle (BL-2)" in findings[0].message


@pytest.mark.verifies("AL-INT-LONG", "BL-2", "BL-3")
def test_al_int_long_keeps_its_key_from_new_cycle_to_discontinue():
    facts = subject(cycles=[cycle(interruptions=[pause(STOP)])])
    (early,) = found(facts, "AL-INT-LONG", START + STOP + 8 * DAY)
    (late,) = found(facts, "AL-INT-LONG", START + STOP + 15 * DAY)
    assert early.key == late.key and early.message != late.message


@pytest.mark.verifies("AL-INT-LONG", "BL-2", "BL-3")
@pytest.mark.parametrize(
    ("cycles", "fires"),
    [
        ([cycle(interruptions=[pause(STOP, STOP + 9 * DAY)])], True),
        (
            [
                cycle(
                    interruptions=[pause(STOP, STOP + 9 * DAY)],
                    end=STOP + 9 * DAY,
                    end_reason="new_cycle",
                )
            ],
            False,
        ),  # fmt: skip
        (
            [
                cycle(
                    interruptions=[pause(STOP, STOP + 9 * DAY)],
                    end=STOP + 9 * DAY,
                    end_reason="discontinued",
                )
            ],
            False,
        ),  # fmt: skip
        (
            [
                cycle(
                    interruptions=[pause(STOP, STOP + 9 * DAY)],
                    end=STOP + 20 * DAY,
                    end_reason="completed",
                )
            ],
            True,
        ),  # fmt: skip
        (
            [
                cycle(interruptions=[pause(STOP, STOP + 9 * DAY)]),
                cycle(doses=[], number=2, start=START + STOP + 9 * DAY),
            ],
            False,
        ),  # fmt: skip
        (
            [
                cycle(doses=[], number=0, start=START - 30 * DAY),
                cycle(interruptions=[pause(STOP, STOP + 9 * DAY)]),
            ],
            True,
        ),  # fmt: skip  an earlier cycle does not clear it
    ],
)
def test_al_int_long_clears(cycles, fires):
    facts = subject(cycles=cycles)
    assert bool(found(facts, "AL-INT-LONG", START + 40 * DAY)) is fires


# --- AL-MRD-TRIGGER (MR-4), AL-MOL-RELAPSE (MR-5) --------------------------------------------


@pytest.mark.verifies("AL-MRD-TRIGGER", "AL-MOL-RELAPSE", "MR-4", "MR-5")
@pytest.mark.parametrize(
    ("response", "results", "trigger", "relapse"),
    [
        ("CR", [mrd("W18", 122, quant("2.3E-4"))], ["mrd:1"], []),
        ("CR", [mrd("W11", 77, quant("2.3E-4"))], [], []),  # week 11: not MR-4
        ("CR", [mrd("U", 119, quant("2.3E-4"))], [], []),  # unscheduled, day 119
        ("CR", [mrd("U", 120, quant("2.3E-4"))], ["mrd:1"], []),  # unscheduled, day 120
        ("CR", [mrd("W18", 122, pnq())], [], []),
        ("CR", [mrd("W18", 122, quant("1E-4"))], ["mrd:1"], []),  # exactly 1E-4 is failure
        ("CR", [mrd("W18", 122, quant("9.99E-5"))], [], []),
        ("CR", [mrd("FU", 200, quant("5E-3"))], ["mrd:1"], []),
        ("CRi", [mrd("W18", 122, quant("2.3E-4"))], ["mrd:1"], []),
        ("refractory", [mrd("W18", 122, quant("2.3E-4"))], [], []),
        (None, [mrd("W18", 122, quant("2.3E-4"))], [], []),
        # MR-5 after MRD negativity, not both alerts
        (
            "CR",
            [mrd("D40", 40, negative(), "mrd:0"), mrd("W18", 122, quant("2.3E-4"))],
            [],
            ["mrd:1"],
        ),
        (
            "CR",
            [mrd("D40", 40, negative(), "mrd:0"), mrd("W11", 77, quant("1E-4"))],
            [],
            ["mrd:1"],
        ),
        # a negative with a sensitivity of 1E-3 is not MRD negativity (MR-1)
        (
            "CR",
            [mrd("D40", 40, negative("1E-3"), "mrd:0"), mrd("W18", 122, quant("2.3E-4"))],
            ["mrd:1"],
            [],
        ),
        # the negativity must come first; the facts' order does not matter
        (
            "CR",
            [mrd("W18", 122, quant("2.3E-4")), mrd("FU", 150, negative(), "mrd:2")],
            ["mrd:1"],
            [],
        ),
        (
            "CR",
            [mrd("W18", 122, quant("2.3E-4")), mrd("D40", 40, negative(), "mrd:0")],
            [],
            ["mrd:1"],
        ),
        # a result the form would refuse is skipped, not an error
        ("CR", [mrd("W18", 122, MrdResult(ResultClass.QUANTIFIABLE))], [], []),
    ],
)
def test_mrd_referral_alerts(response, results, trigger, relapse):
    facts = subject(day40_response=response, mrd=results)
    assert records(facts, "AL-MRD-TRIGGER") == trigger
    assert records(facts, "AL-MOL-RELAPSE") == relapse


@pytest.mark.verifies("AL-MRD-TRIGGER", "AL-MOL-RELAPSE", "MR-4", "MR-5")
@pytest.mark.parametrize(
    ("decisions", "fires"),
    [
        ([], True),
        ([decision("mrd_referral", "mrd:1")], False),
        ([decision("mrd_referral", "mrd:7")], True),
        ([decision("off_protocol_treatment", "mrd:1")], True),
    ],
)
def test_mrd_referral_clears_with_the_decision(decisions, fires):
    for earlier, rule in (
        ([], "AL-MRD-TRIGGER"),
        ([mrd("D40", 40, negative(), "m")], "AL-MOL-RELAPSE"),
    ):
        facts = subject(mrd=[*earlier, mrd("W18", 122, quant("2.3E-4"))], decisions=decisions)
        assert bool(found(facts, rule)) is fires


@pytest.mark.verifies("AL-MRD-TRIGGER", "AL-MOL-RELAPSE", "MR-4", "MR-5")
def test_mrd_referral_findings():
    (trigger,) = found(subject(mrd=[mrd("W18", 122, quant("2.3E-4"))]), "AL-MRD-TRIGGER")
    assert trigger.message.startswith("MRD 2.3E-4 (≥ 1E-4) at W18, study day 122, in ")
    assert "MR-4" in trigger.message and "CD19" in trigger.message and "HSCT" in trigger.message
    assert trigger.actors == {INV, DM} and trigger.severity == Severity.WARNING
    facts = subject(mrd=[mrd("D40", 40, negative(), "m"), mrd("W18", 122, quant("2.3E-4"))])
    (relapse,) = found(facts, "AL-MOL-RELAPSE")
    assert "MR-5" in relapse.message and "study day 40" in relapse.message
    assert "CD19" in relapse.message and relapse.actors == {INV, DM}


# --- AL-W11-NGS, AL-W11-MISSING --------------------------------------------------------------


@pytest.mark.verifies("AL-W11-NGS", "MR-3")
@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([mrd("W11", 75, pnq(), "q")], ["q"]),
        ([mrd("W11", 75, pnq(), "q"), mrd("W11", 75, negative(method=Method.NGS), "n")], []),
        ([mrd("W11", 75, quant("2E-4"), "q")], []),
        ([mrd("W11", 75, negative(), "q")], []),
        ([mrd("D40", 40, pnq(), "q")], []),  # only week 11
        ([mrd("W18", 122, pnq(), "q")], []),
        ([mrd("W11", 75, pnq(), "a"), mrd("W11", 77, quant("2E-4"), "b")], []),  # latest decides
        ([mrd("W11", 77, pnq(), "a"), mrd("W11", 75, quant("2E-4"), "b")], ["a"]),
    ],
)
def test_al_w11_ngs(results, expected):
    facts = subject(mrd=results)
    assert records(facts, "AL-W11-NGS") == expected
    for finding in found(facts, "AL-W11-NGS"):
        assert finding.actors == {LAB} and "NGS" in finding.message


@pytest.mark.verifies("AL-W11-MISSING", "MR-3")
@pytest.mark.parametrize(
    ("today", "visits", "results", "decisions", "fires"),
    [
        (date(2026, 5, 24), [visit()], [], [], False),  # the last day of the window
        (date(2026, 5, 25), [visit()], [], [], True),
        (date(2026, 5, 25), [visit()], [mrd("W11", 75, pnq())], [], False),
        (
            date(2026, 5, 25),
            [visit()],
            [mrd("W11", 75, MrdResult(ResultClass.NOT_EVALUABLE))],
            [],
            False,
        ),  # fmt: skip
        (date(2026, 5, 25), [visit()], [mrd("W18", 122, negative())], [], True),
        (date(2026, 5, 25), [visit()], [], [decision("w11_missing_reason", "visit:W11")], False),
        (date(2026, 5, 25), [visit(code="W18")], [], [], False),
        (date(2026, 5, 25), [visit(window_end=None)], [], [], False),
        (date(2026, 5, 25), [], [], [], False),
        # recorded as missed (with its reason): nothing more to ask
        (date(2026, 5, 25), [visit(has_data=True, missed=True)], [], [], False),
    ],
)
def test_al_w11_missing(today, visits, results, decisions, fires):
    facts = subject(visits=visits, mrd=results, decisions=decisions)
    findings = found(facts, "AL-W11-MISSING", datetime.combine(today, datetime.min.time()))
    assert [f.record for f in findings] == (["visit:W11"] if fires else [])
    for finding in findings:
        assert finding.actors == {LAB, INV} and "2026-05-24" in finding.message


# --- AL-REFRACTORY, AL-SAE-CLOCK, AL-VISIT-OVERDUE -------------------------------------------


@pytest.mark.verifies("AL-REFRACTORY")
@pytest.mark.parametrize(
    ("response", "decisions", "fires"),
    [
        ("refractory", [], True),
        ("CR", [], False),
        ("CRi", [], False),
        (None, [], False),
        ("refractory", [decision("off_protocol_treatment")], False),
        ("refractory", [decision("mrd_referral")], True),
    ],
)
def test_al_refractory(response, decisions, fires):
    facts = subject(day40_response=response, decisions=decisions)
    findings = found(facts, "AL-REFRACTORY")
    assert bool(findings) is fires
    for finding in findings:
        assert finding.record == "response:D40" and finding.actors == {INV, DM}


@pytest.mark.verifies("AL-REFRACTORY")
def test_al_refractory_names_the_response_record():
    facts = replace(subject(day40_response="refractory"), day40_response_record="response:7")
    assert records(facts, "AL-REFRACTORY") == ["response:7"]


AWARE = datetime(2026, 3, 14, 10, 0)


@pytest.mark.verifies("AL-SAE-CLOCK", "SA-1")
@pytest.mark.parametrize(
    ("event", "now", "fires"),
    [
        (ae("crs", 3, ONSET, serious=True, awareness_at=AWARE), AWARE + 24 * HOUR, False),
        (ae("crs", 3, ONSET, serious=True, awareness_at=AWARE), AWARE + 24 * HOUR + MINUTE, True),
        (
            ae(
                "crs",
                3,
                ONSET,
                serious=True,
                awareness_at=AWARE,
                sponsor_notified_at=AWARE + 30 * HOUR,
            ),
            AWARE + 40 * HOUR,
            False,
        ),  # notified late: the notification is recorded, the alert clears
        (ae("crs", 3, ONSET, serious=False, awareness_at=AWARE), AWARE + 40 * HOUR, False),
        (ae("crs", 3, ONSET, serious=True, awareness_at=None), AWARE + 40 * HOUR, False),
    ],
)
def test_al_sae_clock(event, now, fires):
    findings = found(subject(cycles=[], aes=[event]), "AL-SAE-CLOCK", now)
    assert [f.record for f in findings] == (["ae:1"] if fires else [])
    for finding in findings:
        assert finding.severity == Severity.URGENT and finding.actors == {INV, SPONSOR}
        assert "2026-03-15 10:00" in finding.message and "SA-1" in finding.message


@pytest.mark.verifies("AL-VISIT-OVERDUE")
@pytest.mark.parametrize(
    ("today", "has_data", "missed", "fires"),
    [
        (date(2026, 5, 24), False, False, False),
        (date(2026, 5, 25), False, False, True),
        (date(2026, 5, 25), True, False, False),
        (date(2026, 5, 25), False, True, False),
    ],
)
def test_al_visit_overdue(today, has_data, missed, fires):
    facts = subject(visits=[visit("D40", has_data=has_data, missed=missed)])
    findings = found(facts, "AL-VISIT-OVERDUE", datetime.combine(today, datetime.max.time()))
    assert [f.record for f in findings] == (["visit:D40"] if fires else [])
    for finding in findings:
        assert finding.actors == {INV} and "2026-05-24" in finding.message


@pytest.mark.verifies("UR-REC-02", "AL-HEP", "AL-CRS", "AL-INT-LONG")
def test_aware_datetimes_across_a_clock_change():
    prague = ZoneInfo("Europe/Prague")  # summer time from 2026-03-29 02:00
    start = datetime(2026, 3, 28, 8, 0, tzinfo=prague)
    facts = subject(
        cycles=[
            CycleFact(
                "cycle:1",
                1,
                start,
                None,
                "",
                (DoseChangeFact("dose:1", start, D(9), "start"),),
                (InterruptionFact("interruption:1", start + 2 * DAY, None, "crs"),),
            )
        ],
        labs=[LabFact("lab:1", "alt", start + DAY, 3, D("6"))],
        aes=[ae("crs", 3, date(2026, 3, 29)), ae("crs", 3, date(2026, 3, 31), record="ae:2")],
    )
    now = datetime(2026, 4, 7, 9, 0, tzinfo=prague)
    assert records(facts, "AL-HEP", now) == []  # covered by the interruption
    assert records(facts, "AL-CRS", now) == []  # ae:1 covered; ae:2 while interrupted
    assert records(facts, "AL-INT-LONG", now) == ["interruption:1"]  # 8 days: BL-2


# --- The engine ------------------------------------------------------------------------------


def everything() -> tuple[SubjectFacts, datetime]:
    """A subject on whom most rules of rules §9 fire at once."""
    now = datetime(2026, 6, 10, 12, 0)
    hepatic = [pause(10 * DAY, None, "hepatic", "interruption:h")]
    facts = subject(
        blinatumomab_rule="BD-2",
        cycles=[
            cycle(doses=[dose(Z, 28, "start", "dose:1")], interruptions=hepatic),
        ],
        labs=[
            # answered by the hepatic interruption two hours later
            lab("alt", 10 * DAY - 2 * HOUR, 3, "6.0", "lab:1"),
            lab("alt", 11 * DAY, 1, "2", "lab:3"),
            lab("ast", 11 * DAY, 0, "1", "lab:4"),
        ],
        aes=[  # with onset on the day of the interruption, which answers them too
            ae("crs", 3, date(2026, 3, 22), record="ae:crs", serious=True, awareness_at=AWARE),
            ae("neurological", 3, date(2026, 3, 22), record="ae:neu"),
        ],
        mrd=[
            mrd("W11", 75, pnq(), "mrd:w11"),
            mrd("W18", 122, quant("2.3E-4"), "mrd:w18"),
            mrd("D40", 40, negative(), "mrd:d40"),
            mrd("FU", 150, quant("3E-4"), "mrd:fu"),
        ],
        day40_response="refractory",
        visits=[visit("W11", has_data=True), visit("W18", window_end=date(2026, 6, 1))],
    )
    return facts, now


def test_one_subject_raises_many_alerts_at_once():
    facts, now = everything()
    fired = {finding.rule for finding in evaluate(facts, now)}
    # the hepatic interruption covers the lab, the CRS and the neurological event; MR-5 wins
    # over MR-4, and a refractory patient is not in CR; the week-11 MRD is there
    cleared = {"AL-HEP", "AL-CRS", "AL-NEU", "AL-MRD-TRIGGER", "AL-W11-MISSING"}
    assert fired == set(ALERT_RULES) - cleared


HEP, DOSE, REFERRAL = (
    DecisionKind.HEP_JUSTIFICATION,
    DecisionKind.DOSE_DEVIATION_REASON,
    DecisionKind.MRD_REFERRAL,
)
OFF_PROTOCOL, W11_REASON = DecisionKind.OFF_PROTOCOL_TREATMENT, DecisionKind.W11_MISSING_REASON
# Section 9 of the protocol rules, in its order: severity, who must act, the decision that
# clears the alert (None: only the data clear it), the protocol rules it implements.
ALERT_TABLE = {
    "AL-HEP": (Severity.URGENT, {INV, M}, HEP, ("TX-HEP",)),
    "AL-HEP-RESTART": (Severity.WARNING, {INV}, None, ("TX-HEP", "BL-4")),
    "AL-CRS": (Severity.URGENT, {INV, M}, None, ("TX-CRS",)),
    "AL-NEU": (Severity.URGENT, {INV, M}, None, ("TX-NEU",)),
    "AL-DOSE": (Severity.WARNING, {INV, M}, DOSE, ("BD-1", "BD-2", "BL-2", "BL-4")),
    "AL-INT-LONG": (Severity.WARNING, {INV}, None, ("BL-2", "BL-3")),
    "AL-MRD-TRIGGER": (Severity.WARNING, {INV, DM}, REFERRAL, ("MR-4",)),
    "AL-MOL-RELAPSE": (Severity.WARNING, {INV, DM}, REFERRAL, ("MR-5",)),
    "AL-W11-NGS": (Severity.INFO, {LAB}, None, ("MR-3",)),
    "AL-W11-MISSING": (Severity.INFO, {LAB, INV}, W11_REASON, ("MR-3",)),
    "AL-REFRACTORY": (Severity.WARNING, {INV, DM}, OFF_PROTOCOL, ()),
    "AL-SAE-CLOCK": (Severity.URGENT, {INV, SPONSOR}, None, ("SA-1",)),
    "AL-VISIT-OVERDUE": (Severity.INFO, {INV}, None, ()),
}


def test_every_rule_has_its_people_and_clearing():
    assert list(ALERT_RULES) == list(ALERT_TABLE)  # the registry keeps the order of section 9
    for rule, (severity, actors, decision, implements) in ALERT_TABLE.items():
        alert = ALERT_RULES[rule]
        assert alert.id == rule
        assert (alert.severity, alert.actors, alert.decision) == (severity, actors, decision)
        assert alert.implements == implements, rule
    assert {actor.value for actor in Actor} == {
        "investigator",
        "monitor",
        "data_manager",
        "central_lab",
        "sponsor",
    }


@pytest.mark.parametrize("alert", list(ALERT_RULES.values()), ids=list(ALERT_RULES))
def test_every_registry_entry_is_complete(alert):
    assert isinstance(alert, AlertRule) and alert.id.startswith("AL-")
    assert alert.text.strip() and alert.clears_when.strip()
    assert isinstance(alert.severity, Severity)
    assert alert.actors and all(isinstance(actor, Actor) for actor in alert.actors)
    assert alert.decision is None or isinstance(alert.decision, DecisionKind)
    assert all(rule[:2] in {"BD", "BL", "TX", "MR", "SA"} for rule in alert.implements)
    assert callable(alert.check)


def test_the_registry_cannot_be_changed():
    alert = ALERT_RULES["AL-HEP"]
    with pytest.raises(FrozenInstanceError):
        alert.severity = Severity.INFO
    with pytest.raises(TypeError):
        ALERT_RULES["AL-NEW"] = alert


def test_a_decision_that_clears_an_alert_is_named_by_its_entry():
    named = {alert.decision for alert in ALERT_RULES.values()} - {None}
    assert named == set(DecisionKind)  # every kind of decision clears some alert


def test_each_check_finds_its_own_alert_only():
    facts, now = everything()
    mrd_trigger = subject(
        mrd=[mrd("W18", 122, quant("2.3E-4"), "mrd:w18")],
        visits=[visit("W11", window_end=date(2026, 5, 24))],
    )
    for alert in ALERT_RULES.values():
        for case, at in ((facts, now), (mrd_trigger, datetime(2026, 6, 10, 12, 0))):
            for finding in alert.check(case, at):
                assert finding.rule == alert.id
                assert finding.severity == alert.severity
                assert finding.actors == alert.actors
                assert finding.clears_when == alert.clears_when
    fired = {finding.rule for finding in evaluate(mrd_trigger, datetime(2026, 6, 10, 12, 0))}
    assert "AL-MRD-TRIGGER" in fired


def test_findings_are_deterministic_ordered_and_unique():
    facts, now = everything()
    first = evaluate(facts, now)
    assert first == evaluate(facts, now)
    rebuilt = replace(facts, labs=tuple(replace(x) for x in facts.labs))
    assert evaluate(rebuilt, now) == first
    keys = [finding.key for finding in first]
    assert len(keys) == len(set(keys))
    severities = [finding.severity for finding in first]
    order = [Severity.URGENT, Severity.WARNING, Severity.INFO]
    assert severities == sorted(severities, key=order.index)
    # Each reference names the protocol rule behind the alert, then the alert's own ID.
    assert all(finding.message and finding.reference.endswith(finding.rule) for finding in first)


def test_a_record_given_twice_gives_one_finding():
    twice = [lab("alt", SAMPLE, 3, "6.0"), lab("alt", SAMPLE, 3, "6.0")]
    assert records(subject(labs=twice), "AL-HEP") == ["lab:1"]


def test_keys_stay_when_unrelated_facts_change():
    facts, now = everything()
    before = {finding.key: finding.message for finding in evaluate(facts, now)}
    unrelated = replace(
        facts,
        labs=(*facts.labs, lab("platelets", 3 * DAY, 1, None, "lab:99")),
        aes=(ae("other", 1, date(2026, 3, 15), record="ae:99"), *facts.aes),
        visits=(visit("D11", window_end=date(2026, 3, 14), has_data=True), *facts.visits),
        decisions=(decision("hep_justification", "lab:99"),),
    )
    after = {finding.key: finding.message for finding in evaluate(unrelated, now)}
    assert after == before


def test_a_decision_clears_only_its_own_key():
    facts, now = everything()
    before = {finding.key for finding in evaluate(facts, now)}
    decided = replace(facts, decisions=(decision("mrd_referral", "mrd:fu"),))
    after = {finding.key for finding in evaluate(decided, now)}
    assert before - after == {("AL-MOL-RELAPSE", "mrd:fu")}


def test_time_enters_only_through_now():
    facts, now = everything()
    earlier = now - 60 * DAY  # 2026-04-11: before the week-18 window ends
    rules_then = {finding.rule for finding in evaluate(facts, earlier)}
    assert "AL-VISIT-OVERDUE" not in rules_then
    assert "AL-VISIT-OVERDUE" in {finding.rule for finding in evaluate(facts, now)}
