import pytest

from blinacell_site.celery import app
from exports.models import StoredReport
from tests.alerts.worker import stop_all


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

    def compute_now(site_numbers, period):
        stored, _ = StoredReport.objects.get_or_create(
            site_numbers=stored_reports.scope_key(site_numbers), period=period
        )
        return stored_reports.compute(stored)

    monkeypatch.setattr(stored_reports, "ask", compute_now)
