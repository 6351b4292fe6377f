"""ASTCT 2019 consensus grading of CRS and ICANS (rules §6), used for TX-CRS and TX-NEU.

Source: Lee DW et al., ASTCT Consensus Grading for Cytokine Release Syndrome and Neurologic
Toxicity Associated with Immune Effector Cells, Biol Blood Marrow Transplant 2019;25:625-638.
CTCAE v5.0 has no ICANS term: a neurological event graded by CTCAE goes under its own term
(encephalopathy, seizure ...), or "Nervous system disorders - Other, specify".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum

ASTCT_SYSTEM = "ASTCT 2019"  # rules §6: stored with each CRS or ICANS grade
FEVER_CELSIUS = Decimal("38.0")  # rules §6 / ASTCT 2019: fever is a temperature >= 38 °C


def is_fever(temperature_celsius: Decimal) -> bool:
    """rules §6: fever is 38.0 °C or more (38.0 included)."""
    return temperature_celsius >= FEVER_CELSIUS


# --- CRS -------------------------------------------------------------------------------------


class Hypotension(StrEnum):
    NONE = "none"
    NO_VASOPRESSORS = "no_vasopressors"  # hypotension not requiring vasopressors
    ONE_VASOPRESSOR = "one_vasopressor"  # with or without vasopressin
    SEVERAL_VASOPRESSORS = "several_vasopressors"  # vasopressin excluded


class OxygenSupport(StrEnum):
    NONE = "none"
    LOW_FLOW = "low_flow"  # nasal cannula <= 6 L/min, or blow-by
    HIGH_FLOW = "high_flow"  # > 6 L/min, face mask, non-rebreather or Venturi mask
    POSITIVE_PRESSURE = "positive_pressure"  # CPAP, BiPAP, intubation and ventilation


CRS_FEVER_GRADE = 1  # rules §6 / ASTCT 2019: fever without hypotension or hypoxia
# rules §6 / ASTCT 2019 CRS: the grade each hypotension and each oxygen support gives
CRS_GRADE_BY_HYPOTENSION: dict[Hypotension, int] = {
    Hypotension.NONE: 0,
    Hypotension.NO_VASOPRESSORS: 2,
    Hypotension.ONE_VASOPRESSOR: 3,
    Hypotension.SEVERAL_VASOPRESSORS: 4,
}
CRS_GRADE_BY_OXYGEN: dict[OxygenSupport, int] = {
    OxygenSupport.NONE: 0,
    OxygenSupport.LOW_FLOW: 2,
    OxygenSupport.HIGH_FLOW: 3,
    OxygenSupport.POSITIVE_PRESSURE: 4,
}


def crs_grade(
    *,
    fever: bool,
    hypotension: Hypotension,
    oxygen: OxygenSupport,
    antipyretics_or_anticytokine: bool = False,
) -> int:
    """rules §6: ASTCT 2019 CRS grade 0-4 (0 = no CRS); grade 5 (death) is not derived.

    Without fever there is no CRS, except after antipyretics or anti-cytokine therapy
    (tocilizumab, steroids) given for CRS: fever is then no longer required and the grade is
    driven by hypotension and hypoxia. That CRS is still there, so it stays at least grade 1.
    The grade is the worse of hypotension and hypoxia (fever alone: grade 1).
    """
    hypotension = Hypotension(hypotension)
    oxygen = OxygenSupport(oxygen)
    if not fever and not antipyretics_or_anticytokine:
        return 0
    return max(CRS_FEVER_GRADE, CRS_GRADE_BY_HYPOTENSION[hypotension], CRS_GRADE_BY_OXYGEN[oxygen])


# --- ICANS -----------------------------------------------------------------------------------

# rules §6 / ASTCT 2019 ICE score: the maximum of each sub-score (total 10)
ICE_MAXIMA: dict[str, int] = {
    "orientation": 4,  # year, month, city, hospital
    "naming": 3,  # three objects
    "commands": 1,  # follows simple commands
    "writing": 1,  # writes a standard sentence
    "attention": 1,  # counts backwards from 100 by 10
}


def ice_errors(
    *, orientation: int, naming: int, commands: int, writing: int, attention: int
) -> dict[str, str]:
    """Hard checks of the ICE sub-scores: field name -> what is wrong and what is expected."""
    scores = {
        "orientation": orientation,
        "naming": naming,
        "commands": commands,
        "writing": writing,
        "attention": attention,
    }
    errors: dict[str, str] = {}
    for name, score in scores.items():
        maximum = ICE_MAXIMA[name]
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= maximum:
            errors[name] = (
                f"ICE {name} {score!r} is outside 0-{maximum}; score it 0 to {maximum} points."
            )
    return errors


@dataclass(frozen=True)
class IceScore:
    """ASTCT 2019 Immune effector Cell-associated Encephalopathy score, 0-10 (rules §6).

    Raises ValueError for a sub-score outside its range.
    """

    orientation: int
    naming: int
    commands: int
    writing: int
    attention: int

    def __post_init__(self) -> None:
        errors = ice_errors(**{field.name: getattr(self, field.name) for field in fields(self)})
        if errors:
            raise ValueError(" ".join(errors.values()))

    @property
    def total(self) -> int:
        return self.orientation + self.naming + self.commands + self.writing + self.attention


ICE_MAX_TOTAL = sum(ICE_MAXIMA.values())
# rules §6 / ASTCT 2019 ICANS by ICE score: 7-9 grade 1, 3-6 grade 2, 0-2 grade 3
# (grade 4: 0 and unarousable, unable to perform ICE); 10 is no ICANS
ICE_GRADE_1_FROM = 7
ICE_GRADE_2_FROM = 3


class Consciousness(StrEnum):
    """ASTCT 2019 depressed level of consciousness (not attributable to another cause)."""

    NORMAL = "normal"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_TO_TACTILE = "awakens_only_to_tactile"  # awakens only to tactile stimulus
    # unarousable or needs vigorous or repetitive tactile stimuli to arouse; stupor or coma
    UNAROUSABLE_STUPOR_OR_COMA = "unarousable_stupor_or_coma"


class Seizure(StrEnum):
    NONE = "none"
    # any clinical seizure, focal or generalised, that resolves rapidly, or non-convulsive
    # seizures on EEG that resolve with intervention
    FOCAL_OR_GENERALISED_RESOLVING = "focal_or_generalised_resolving"
    # life-threatening prolonged seizure (> 5 min), or repetitive clinical or electrical
    # seizures without return to baseline in between
    PROLONGED_OR_REPETITIVE = "prolonged_or_repetitive"


class MotorFinding(StrEnum):
    NONE = "none"  # tremor and myoclonus do not count (ASTCT 2019)
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness"  # such as hemiparesis or paraparesis


class RaisedIcp(StrEnum):
    NONE = "none"
    FOCAL_OEDEMA = "focal_oedema"  # focal or local oedema on neuroimaging
    # diffuse cerebral oedema on neuroimaging; decerebrate or decorticate posturing; cranial
    # nerve VI palsy; papilloedema; or Cushing's triad
    DIFFUSE_OEDEMA_OR_POSTURING_OR_PALSY_OR_PAPILLOEDEMA_OR_CUSHING = (
        "diffuse_oedema_posturing_palsy_papilloedema_cushing"
    )


# rules §6 / ASTCT 2019 ICANS: the grade each finding of the other domains gives
ICANS_GRADE_BY_CONSCIOUSNESS: dict[Consciousness, int] = {
    Consciousness.NORMAL: 0,
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_TO_TACTILE: 3,
    Consciousness.UNAROUSABLE_STUPOR_OR_COMA: 4,
}
ICANS_GRADE_BY_SEIZURE: dict[Seizure, int] = {
    Seizure.NONE: 0,
    Seizure.FOCAL_OR_GENERALISED_RESOLVING: 3,
    Seizure.PROLONGED_OR_REPETITIVE: 4,
}
ICANS_GRADE_BY_MOTOR: dict[MotorFinding, int] = {
    MotorFinding.NONE: 0,
    MotorFinding.DEEP_FOCAL_WEAKNESS: 4,
}
ICANS_GRADE_BY_RAISED_ICP: dict[RaisedIcp, int] = {
    RaisedIcp.NONE: 0,
    RaisedIcp.FOCAL_OEDEMA: 3,
    RaisedIcp.DIFFUSE_OEDEMA_OR_POSTURING_OR_PALSY_OR_PAPILLOEDEMA_OR_CUSHING: 4,
}


def ice_grade(ice: IceScore | None, *, unarousable: bool) -> int:
    """rules §6: the ICANS grade of the ICE domain; no ICE score (not done) gives 0.

    An unarousable patient cannot perform the ICE test: grade 4, with no score or a score of 0.
    """
    if unarousable:
        if ice is not None and ice.total != 0:
            raise ValueError(
                f"ICE {ice.total} for an unarousable patient: an unarousable patient cannot "
                "perform the ICE test; enter ICE 0 or leave it empty."
            )
        return 4
    if ice is None or ice.total == ICE_MAX_TOTAL:
        return 0
    if ice.total >= ICE_GRADE_1_FROM:
        return 1
    if ice.total >= ICE_GRADE_2_FROM:
        return 2
    return 3


def icans_grade(
    *,
    ice: IceScore | None,
    unarousable: bool,
    consciousness: Consciousness,
    seizure: Seizure,
    motor: MotorFinding,
    raised_icp: RaisedIcp,
) -> int:
    """rules §6: ASTCT 2019 ICANS grade 0-4, the worst of the ICE score, consciousness,
    seizure, motor findings and raised intracranial pressure / cerebral oedema."""
    return max(
        ice_grade(ice, unarousable=unarousable),
        ICANS_GRADE_BY_CONSCIOUSNESS[Consciousness(consciousness)],
        ICANS_GRADE_BY_SEIZURE[Seizure(seizure)],
        ICANS_GRADE_BY_MOTOR[MotorFinding(motor)],
        ICANS_GRADE_BY_RAISED_ICP[RaisedIcp(raised_icp)],
    )
