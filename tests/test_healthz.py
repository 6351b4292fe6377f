import pytest

from blinacell_site.celery import app as celery_app

pytestmark = pytest.mark.verifies("UR-OPS-01")


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    # Nothing listens on port 1: the broker is down as far as the app can tell.
    for key in ("broker_url", "broker_write_url"):
        monkeypatch.setitem(celery_app.conf, key, "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")
    assert body["status"] == "degraded"
