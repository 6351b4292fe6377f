import datetime

import pytest

from blinacell_site.celery import app
from crf.models import Role
from exports.models import StoredReport
from tests.alerts.worker import stop_all
from tests.factories import baseline_for, enrol, user_with_role


@pytest.fixture(autouse=True)
def _queue_empty_at_start():
    """Each test starts with its process's queue empty: tests of other files that ran in this
    process before it (the suite runs in several) may have left evaluations queued."""
    app.control.purge()


@pytest.fixture(scope="session", autouse=True)
def _no_worker_outlives_the_tests():
    yield
    stop_all()
    app.control.purge()


@pytest.fixture
def reports_computed(monkeypatch):
    """The report pages find their stored report computed: where a page would ask the worker for
    it (none stored yet, or the data changed since), the test computes it there and then, as the
    worker would (exports.stored_reports.compute)."""
    from exports import stored_reports

    def compute_now(site_numbers, period, freeze=None):
        stored, _ = StoredReport.objects.get_or_create(
            site_numbers=stored_reports.scope_key(site_numbers), period=period, freeze=freeze
        )
        return stored_reports.compute(stored)

    monkeypatch.setattr(stored_reports, "ask", compute_now)


@pytest.fixture
def data_manager(db):
    return user_with_role(Role.DATA_MANAGER, None, username="dm")


@pytest.fixture
def report_study(site_a, site_b, investigator_a, investigator_b):
    """Six patients with baselines at two sites (enough for the whole report)."""
    for site, by, n in ((site_a, investigator_a, 4), (site_b, investigator_b, 2)):
        for i in range(n):
            subject = enrol(site, by=by, day1_date=datetime.date(2025, 3 + i, 2 + n))
            baseline_for(subject, by=by, year_of_birth=1970 + 3 * i)
    return [site_a, site_b]
