"""The eCRF's records, one module per idea."""

from .after_induction import MrdTriggeredBlinatumomab, SalvageTherapy
from .outcomes import (
    Death,
    EndOfStudy,
    FollowUpContact,
    Relapse,
    ResponseAssessment,
    SecondMalignancy,
    Transplant,
)
from .sites import SITE_BOUND_ROLES, Membership, Role, Site
from .study import ProtocolVersion
from .subjects import Baseline, EditCheckConfirmation, Screening, Subject
from .treatment import (
    BlinatumomabInfusion,
    Day11Assessment,
    DrugAdministration,
    InfusionDoseChange,
    InfusionInterruption,
    IntrathecalAdministration,
    Premedication,
    TreatmentCourse,
    TreatmentPhase,
)
from .visits import Visit

__all__ = [
    "SITE_BOUND_ROLES",
    "Baseline",
    "BlinatumomabInfusion",
    "Day11Assessment",
    "Death",
    "DrugAdministration",
    "EditCheckConfirmation",
    "EndOfStudy",
    "FollowUpContact",
    "InfusionDoseChange",
    "InfusionInterruption",
    "IntrathecalAdministration",
    "Membership",
    "MrdTriggeredBlinatumomab",
    "Premedication",
    "ProtocolVersion",
    "Relapse",
    "ResponseAssessment",
    "Role",
    "SalvageTherapy",
    "Screening",
    "SecondMalignancy",
    "Site",
    "Subject",
    "Transplant",
    "TreatmentCourse",
    "TreatmentPhase",
    "Visit",
]
