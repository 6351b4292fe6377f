import pytest

from crf.models import Role
from tests.factories import SiteFactory, enrol, user_with_role


@pytest.fixture
def site_a(db):
    return SiteFactory(number=1, city="Prague")


@pytest.fixture
def site_b(db):
    return SiteFactory(number=2, city="Brno")


@pytest.fixture
def investigator_a(site_a):
    return user_with_role(Role.INVESTIGATOR, site_a, username="inv.a")


@pytest.fixture
def investigator_b(site_b):
    return user_with_role(Role.INVESTIGATOR, site_b, username="inv.b")


@pytest.fixture
def subject_a(site_a, investigator_a):
    return enrol(site_a, by=investigator_a)


@pytest.fixture
def subject_b(site_b, investigator_b):
    return enrol(site_b, by=investigator_b)
