import pytest

from blinacell_site.celery import app

from .worker import stop_all


@pytest.fixture(scope="session", autouse=True)
def _empty_test_queue():
    """The test run's own queue starts and ends empty."""
    app.control.purge()
    yield
    stop_all()
    app.control.purge()
