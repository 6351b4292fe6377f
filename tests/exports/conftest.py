import pytest

from blinacell_site.celery import app
from tests.alerts.worker import stop_all


@pytest.fixture(scope="session", autouse=True)
def _no_worker_outlives_the_tests():
    yield
    stop_all()
    app.control.purge()
