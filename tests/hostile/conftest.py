import pytest

from crf.models import Role
from tests.factories import user_with_role


@pytest.fixture
def central_lab(db):
    return user_with_role(Role.CENTRAL_LAB, None, username="lab")
