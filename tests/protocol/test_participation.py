import pytest

from protocol.participation import SubjectStatus, subject_status

pytestmark = pytest.mark.verifies("UR-REC-05")


@pytest.mark.parametrize(
    ("end_of_study_reason", "died", "expected"),
    [
        (None, False, SubjectStatus.ON_STUDY),
        ("completed", False, SubjectStatus.COMPLETED),
        ("withdrawal", False, SubjectStatus.WITHDRAWN),
        ("investigator", False, SubjectStatus.ENDED_EARLY),
        ("lost", False, SubjectStatus.ENDED_EARLY),
        ("other", False, SubjectStatus.ENDED_EARLY),
        ("death", False, SubjectStatus.DIED),
        (None, True, SubjectStatus.DIED),  # a death recorded before the end-of-study form
        ("lost", True, SubjectStatus.DIED),  # lost to follow-up, later known to have died
        ("completed", True, SubjectStatus.DIED),
    ],
)
def test_subject_status(end_of_study_reason, died, expected):
    assert subject_status(end_of_study_reason, died) is expected
