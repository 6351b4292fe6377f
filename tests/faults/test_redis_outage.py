"""Redis stopped during saves: saves succeed quickly, alerts arrive once after it returns."""

import pytest

from bench.faults import redis_outage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.verifies("UR-ALR-02", "AL-HEP")]


def test_redis_down_during_saves_loses_and_doubles_no_alert():
    result = redis_outage.run(
        outage=4.0, save_every=1.0, saves_before=1, reconcile_every=1.0, settle=40.0,
        log=lambda *a: None,
    )  # fmt: skip
    print(result.summary())
    assert result.failures == []
    assert len(result.outage_saves) == 4
    assert max(result.outage_saves) < redis_outage.SAVE_LIMIT
    assert result.counts and all(n == 1 for n in result.counts.values())
