import pytest

from blinacell_site.celery import app
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
