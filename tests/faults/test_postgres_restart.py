"""PostgreSQL stopped and started again under saves through gunicorn (a private cluster)."""

import pytest

from bench.faults import postgres_restart

pytestmark = pytest.mark.verifies("UR-AUD-01", "UR-OPS-01")


def test_postgres_restart_during_saves_fails_cleanly_loses_nothing_and_recovers():
    result = postgres_restart.run(
        clients=2, outages=(2.0,), traffic_between=2.0, timeout=10.0, log=lambda *a: None
    )
    print(result.summary())
    assert result.failures == []
    assert result.lost == [] and result.doubled == []
    assert any(not s.success for s in result.saves)  # the outage was hit
    assert all(o.recovery < postgres_restart.RECOVERY_LIMIT for o in result.outages)
