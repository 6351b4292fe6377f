"""The facts of one subject that protocol/rules.py evaluates: plain, frozen values.

The caller (alerts/facts.py) loads them from the database and builds every record id as a
string such as "lab:12", so that a finding names the record that triggered it. Nothing here
computes: the rules live in protocol/rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from protocol.mrd import MrdResult
from protocol.schedule import ProtocolSettings

REFRACTORY_RESPONSE = "refractory"  # rules §1: the day-40 response is CR, CRi or refractory


class InterruptionReason(StrEnum):
    """Why the infusion was stopped; hepatic, crs and neurological are TX-HEP/TX-CRS/TX-NEU."""

    HEPATIC = "hepatic"
    CRS = "crs"
    NEUROLOGICAL = "neurological"
    INFECTION = "infection"
    OTHER = "other"


class AeCategory(StrEnum):
    """The category of an adverse event as the toxicity rules need it (rules §4)."""

    CRS = "crs"
    NEUROLOGICAL = "neurological"
    HEPATIC = "hepatic"
    INFECTION = "infection"
    OTHER = "other"


class DoseChangeKind(StrEnum):
    START = "start"
    STEP_UP = "step_up"
    RESTART = "restart"
    REDUCTION = "reduction"


class CycleEndReason(StrEnum):
    COMPLETED = "completed"  # 28 infusion days given (BL-1)
    DISCONTINUED = "discontinued"  # TX-CRS/TX-NEU grade 4, BL-3, ...
    NEW_CYCLE = "new_cycle"  # interrupted > 7 days: continued as a new cycle (BL-2)


class DecisionKind(StrEnum):
    """Documented decisions that clear an alert (rules §9, last column)."""

    HEP_JUSTIFICATION = "hep_justification"  # AL-HEP: infusion continued; about = the lab
    MRD_REFERRAL = "mrd_referral"  # AL-MRD-TRIGGER, AL-MOL-RELAPSE; about = the MRD record
    OFF_PROTOCOL_TREATMENT = "off_protocol_treatment"  # AL-REFRACTORY
    DOSE_DEVIATION_REASON = "dose_deviation_reason"  # AL-DOSE; about = the dose change
    W11_MISSING_REASON = "w11_missing_reason"  # AL-W11-MISSING


@dataclass(frozen=True)
class LabFact:
    """One lab value: `test` a ctcae.LabTest value, `grade` its CTCAE grade (None = not graded),
    `times_uln` the value / ULN in the standard unit (None without a ULN)."""

    record: str
    test: str
    sampled_at: datetime
    grade: int | None
    times_uln: Decimal | None
    entered_at: datetime | None = None  # when the value was entered (it may be days later)


@dataclass(frozen=True)
class InterruptionFact:
    """Time the blinatumomab infusion was stopped; `end` None = still interrupted."""

    record: str
    start: datetime
    end: datetime | None
    reason: str  # an InterruptionReason value


@dataclass(frozen=True)
class DoseChangeFact:
    """From `at` on, the infusion runs at `ug_per_day` (the start and a restart are changes)."""

    record: str
    at: datetime
    ug_per_day: Decimal
    kind: str  # a DoseChangeKind value


@dataclass(frozen=True)
class CycleFact:
    """One blinatumomab cycle; `end` None = still running (or interrupted now)."""

    record: str
    cycle: int
    start: datetime
    end: datetime | None
    end_reason: str  # a CycleEndReason value, "" while running
    dose_changes: tuple[DoseChangeFact, ...]
    interruptions: tuple[InterruptionFact, ...]


@dataclass(frozen=True)
class AeFact:
    """One adverse event; `category` an AeCategory value."""

    record: str
    category: str
    grade: int
    onset: date
    end: date | None
    serious: bool
    awareness_at: datetime | None
    sponsor_notified_at: datetime | None
    seizure_count: int = 0
    entered_at: datetime | None = None  # when the event was entered (it may be days later)


@dataclass(frozen=True)
class MrdFact:
    """One MRD result; `timepoint` an mrd.Timepoint value, `study_day` that of the sample."""

    record: str
    timepoint: str
    study_day: int
    result: MrdResult


@dataclass(frozen=True)
class VisitFact:
    """A planned assessment visit (`code` a schedule.VisitCode value such as "W11")."""

    record: str
    code: str
    name: str
    window_end: date | None
    has_data: bool
    missed: bool


@dataclass(frozen=True)
class DecisionFact:
    """A documented decision (`kind` a DecisionKind value) about the record `about`."""

    record: str
    kind: str
    on: date
    about: str = ""


@dataclass(frozen=True)
class SubjectFacts:
    """Everything the rules look at for one subject.

    `blinatumomab_rule` is "BD-1" or "BD-2" (schedule.BlinatumomabRule), `day11_blasts` the
    day-11 marrow blast % (BD-1 needs it), `day40_response` "CR", "CRi" or "refractory".
    `day40_response_record` names the day-40 response for AL-REFRACTORY. `relapses` are the
    dates of haematological relapses; `igtr_target` whether the patient has an IG/TR target
    (None: not recorded); `ended_on` the end of study or death, whichever came first;
    `mrd_blinatumomab_started` and `salvage_started` the start dates of the MRD-triggered
    blinatumomab courses and salvage therapies given.
    """

    study_id: str
    day1: date
    blinatumomab_rule: str
    day11_blasts: Decimal | None
    settings: ProtocolSettings
    cycles: tuple[CycleFact, ...]
    labs: tuple[LabFact, ...]
    aes: tuple[AeFact, ...]
    mrd: tuple[MrdFact, ...]
    day40_response: str | None
    visits: tuple[VisitFact, ...]
    decisions: tuple[DecisionFact, ...]
    day40_response_record: str = "response:D40"
    relapses: tuple[date, ...] = ()
    igtr_target: bool | None = None
    ended_on: date | None = None
    mrd_blinatumomab_started: tuple[date, ...] = ()  # MR-4/MR-5 courses given, by start date
    salvage_started: tuple[date, ...] = ()  # salvage (off-protocol) therapies, by start date
