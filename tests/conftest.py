import datetime
import os

import pytest

from audit.roles import application_role_grant
from crf.models import Role
from tests.factories import SiteFactory, enrol, user_with_role


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as a deployment has it: the application role (which the workers and
    servers the tests start connect as) owns nothing and may only add to the audit tables."""
    with django_db_blocker.unblock():
        application_role_grant(
            os.environ.get("DATABASE_APP_ROLE", "blinacell_app"),
            os.environ.get("DATABASE_APP_PASSWORD"),
        )


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


@pytest.fixture
def central_lab(db):
    return user_with_role(Role.CENTRAL_LAB, None, username="lab")


@pytest.fixture
def w11_sample(subject_a, investigator_a):
    """Subject 1-01's week-11 marrow sample, awaiting the central laboratory's result."""
    from mrd.services import sample_record

    return sample_record(
        subject=subject_a,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=investigator_a,
    )
