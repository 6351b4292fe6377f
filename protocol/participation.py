"""Where a subject stands in the study, from the end-of-study and death records."""

from __future__ import annotations

from enum import StrEnum


class SubjectStatus(StrEnum):
    ON_STUDY = "enrolled"
    COMPLETED = "completed"  # follow-up completed as planned
    WITHDRAWN = "withdrawn"  # withdrawal of consent
    ENDED_EARLY = "ended_early"  # investigator's decision, lost to follow-up, other
    DIED = "died"


# End-of-study reasons (the end-of-study form's codes) and the status each gives.
END_OF_STUDY_STATUS = {
    "completed": SubjectStatus.COMPLETED,
    "withdrawal": SubjectStatus.WITHDRAWN,
    "death": SubjectStatus.DIED,
}


def subject_status(end_of_study_reason: str | None, died: bool) -> SubjectStatus:
    """A recorded death decides; otherwise the end-of-study reason; on study without either."""
    if died:
        return SubjectStatus.DIED
    if end_of_study_reason is None:
        return SubjectStatus.ON_STUDY
    return END_OF_STUDY_STATUS.get(end_of_study_reason, SubjectStatus.ENDED_EARLY)
