import pytest

from bench.faults import servers
from blinacell_site.celery import app
from tests.alerts.worker import stop_all


@pytest.fixture(autouse=True)
def _queue_empty_at_start():
    """Each test starts with its process's queue empty: tests of other files that ran in this
    process before it (the suite runs in several) may have left evaluations queued."""
    app.control.purge()


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_session():
    """Workers, gunicorn, PostgreSQL clusters and brokers started by the fault tests all stop
    at the end of the session, whatever happened in the tests; the run's queue ends empty."""
    app.control.purge()
    yield
    stop_all()
    servers.stop_all()
    app.control.purge()
