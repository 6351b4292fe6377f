"""Through the database: the rules see the site's dates (a sample at 00:30 in Prague is that
day's, not the day before's in UTC), and a cycle can end while it is interrupted."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import subject_evaluate
from crf.services.infusion import infusion_end, infusion_interrupt
from safety.services import LabEntry, lab_panel_record
from tests.factories import day11_for, enrol, infusion_started_for, lab_panel_for

pytestmark = pytest.mark.verifies("UR-ALR-01")


def _on_infusion(site, investigator):
    subject = enrol(site, by=investigator, day1_date=datetime.date(2026, 3, 1))
    day11_for(subject, by=investigator)
    return subject, infusion_started_for(subject, by=investigator)  # 2026-03-12 09:00


@pytest.mark.verifies("UR-REC-02", "AL-HEP")
@pytest.mark.django_db
def test_a_sample_just_after_local_midnight_is_that_days(site_a, investigator_a):
    subject, _ = _on_infusion(site_a, investigator_a)
    half_past = timezone.make_aware(datetime.datetime(2026, 3, 14, 0, 30))  # 23:30 UTC the 13th
    lab_panel_record(
        subject=subject, sampled_at=half_past, local_lab="ward",
        entries=[LabEntry("alt", Decimal(250), "U/L", uln=Decimal(40))], user=investigator_a,
    )  # fmt: skip
    subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-HEP")
    assert "on 2026-03-14, study day 14" in alert.message


@pytest.mark.verifies("UR-DOS-02", "AL-INT-LONG")
@pytest.mark.django_db
def test_a_cycle_ends_while_interrupted_and_the_interruption_ends_with_it(site_a, investigator_a):
    subject, cycle = _on_infusion(site_a, investigator_a)
    stopped = timezone.make_aware(datetime.datetime(2026, 3, 20, 9))
    interruption = infusion_interrupt(record=cycle, started_at=stopped, reason="neurological",
                                      reason_other="", user=investigator_a)  # fmt: skip
    ended = stopped + datetime.timedelta(days=10)
    cycle.refresh_from_db()
    infusion_end(record=cycle, ended_at=ended, end_reason="discontinued",
                 discontinuation_reason="TX-NEU", user=investigator_a)  # fmt: skip
    interruption.refresh_from_db()
    assert interruption.ended_at == ended  # no restart was invented
    assert interruption.history.first().history_change_reason == (
        "interruption closed by the end of cycle 1"
    )
    cycle.refresh_from_db()
    assert cycle.end_reason == "discontinued"
    subject_evaluate(subject.pk)
    open_rules = set(
        Alert.objects.filter(subject=subject, status__in=Alert.ACTIVE).values_list(
            "rule", flat=True
        )
    )
    assert "AL-INT-LONG" not in open_rules  # discontinued: nothing more to ask
    lab_panel_for(subject, by=investigator_a, alt="45", uln="40", days=25)  # later labs still fine
