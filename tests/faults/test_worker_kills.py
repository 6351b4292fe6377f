"""The worker SIGKILLed again and again during export and alert tasks."""

import pytest

from bench.faults import worker_kills

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.verifies("UR-EXP-01")
def test_an_export_killed_mid_write_is_never_complete_until_it_is(tmp_path):
    result = worker_kills.run_exports(
        export_root=tmp_path, kills=2, pause=0.2, stale_seconds=2, visibility_timeout=4,
        subjects=2, timeout=60, log=lambda *a: None,
    )  # fmt: skip
    print(result.summary())
    assert result.failures == []
    assert result.kills == 2 and result.sha_ok and result.attempts >= 3


@pytest.mark.verifies("UR-ALR-02", "AL-HEP")
def test_alert_evaluations_killed_mid_task_give_every_alert_once():
    result = worker_kills.run_alerts(
        subjects=3, kills=2, pause=2, visibility_timeout=4, timeout=40, log=lambda *a: None
    )
    print(result.summary())
    assert result.failures == []
    assert result.counts and all(n == 1 for n in result.counts.values())
