import datetime

import pytest

from crf.models import Role
from mrd.services import sample_record
from tests.factories import user_with_role


@pytest.fixture
def central_lab(db):
    return user_with_role(Role.CENTRAL_LAB, None, username="lab")


@pytest.fixture
def w11_sample(subject_a, investigator_a):
    return sample_record(
        subject=subject_a,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=investigator_a,
    )
