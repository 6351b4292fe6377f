"""From a saved value to the alert, through a real Redis broker and a real Celery worker."""

import datetime
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import Alert, EvaluationMark
from alerts.tasks import evaluate_marked_subjects, evaluate_subject
from blinacell_site.celery import app
from crf.models import ResponseAssessment, Role
from crf.services import record_save
from crf.services.infusion import infusion_interrupt
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from tests.factories import (
    baseline_for,
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    user_with_role,
)

from .worker import PrivateBroker, Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    running = Worker().start()
    yield running
    running.stop()


def _alert(subject, rule):
    return Alert.objects.filter(subject=subject, rule=rule).first()


def _on_infusion(site, investigator):
    today = timezone.localdate()
    subject = enrol(site, by=investigator, day1_date=today - datetime.timedelta(days=20))
    baseline_for(subject, by=investigator)
    day11_for(subject, by=investigator)
    infusion_started_for(subject, by=investigator)
    return subject


def test_alt_six_times_uln_on_day_14_raises_al_hep_then_the_interruption_clears_it(
    worker, site_a, investigator_a
):
    subject = _on_infusion(site_a, investigator_a)
    saved = time.monotonic()
    panel = lab_panel_for(subject, by=investigator_a, alt="240", uln="40", days=13)  # day 14
    alert = wait_for(lambda: _alert(subject, "AL-HEP"))
    latency = time.monotonic() - saved
    assert latency < 10
    assert alert.status == Alert.Status.OPEN and alert.severity == "urgent"
    assert "interrupt" in alert.message.lower()
    assert {"investigator", "monitor"} <= set(alert.actors)
    assert alert.record == f"lab:{panel.values.get().pk}"

    cycle = subject.infusions.get()
    infusion_interrupt(
        record=cycle,
        started_at=panel.sampled_at + datetime.timedelta(hours=1),
        reason="hepatic",
        reason_other="",
        user=investigator_a,
    )
    wait_for(lambda: _alert(subject, "AL-HEP").status == Alert.Status.RESOLVED)
    assert _alert(subject, "AL-HEP").resolved_at is not None

    lab_panel_for(subject, by=investigator_a, alt="45", uln="40", days=15)  # grade 1 again
    restart = wait_for(lambda: _alert(subject, "AL-HEP-RESTART"))
    assert "9" in restart.message


def _w_sample(subject, investigator, timepoint, study_day):
    return sample_record(
        subject=subject,
        timepoint=timepoint,
        material="bone_marrow",
        sampled_on=subject.day1_date + datetime.timedelta(days=study_day - 1),
        user=investigator,
    )


def _in_cr(site, investigator, days_ago=140):
    subject = enrol(
        site, by=investigator,
        day1_date=timezone.localdate() - datetime.timedelta(days=days_ago),
    )  # fmt: skip
    baseline_for(subject, by=investigator)
    record_save(
        ResponseAssessment(
            subject=subject,
            assessed_on=subject.day1_date + datetime.timedelta(days=39),
            response="CR",
        ),
        user=investigator,
    )
    return subject


def test_mrd_at_week_18_asks_for_the_referral_but_not_at_week_11_or_pnq(
    worker, site_a, investigator_a
):
    lab = user_with_role(Role.CENTRAL_LAB, None)
    quantifiable = dict(result_class="quantifiable", value=Decimal("0.00023"))

    def report(sample, **values):
        return result_save(
            MrdResult(sample=sample, method="qpcr", report_date=sample.sampled_on, **values),
            user=lab,
        )

    w18 = _in_cr(site_a, investigator_a)
    report(_w_sample(w18, investigator_a, "W18", 120), **quantifiable)
    alert = wait_for(lambda: _alert(w18, "AL-MRD-TRIGGER"))
    assert "CD19" in alert.message and "data_manager" in alert.actors

    w11 = _in_cr(site_a, investigator_a)
    report(_w_sample(w11, investigator_a, "W11", 74), **quantifiable)
    pnq = _in_cr(site_a, investigator_a)
    report(_w_sample(pnq, investigator_a, "W18", 121), result_class="pnq")
    # Both evaluations have run once their marks are gone; neither raised the referral.
    wait_for(lambda: not EvaluationMark.objects.filter(subject__in=[w11, pnq]).exists())
    assert _alert(w11, "AL-MRD-TRIGGER") is None
    assert _alert(pnq, "AL-MRD-TRIGGER") is None


def test_broker_down_during_a_save_then_reconciliation_raises_the_alert(site_a, investigator_a):
    subject = _on_infusion(site_a, investigator_a)
    broker = PrivateBroker().start()
    broker.use()
    worker = Worker(CELERY_BROKER_URL=broker.url).start()
    try:
        EvaluationMark.objects.all().delete()
        broker.stop()  # the broker goes down
        started = time.monotonic()
        lab_panel_for(subject, by=investigator_a, alt="240", uln="40", days=13)
        assert time.monotonic() - started < 5  # the save succeeds without waiting for it
        assert EvaluationMark.objects.filter(subject=subject).exists()
        assert _alert(subject, "AL-HEP") is None
        broker.start()  # back: the worker reconnects; the beat job reconciles the marks
        wait_for(lambda: app.control.ping(timeout=0.5), timeout=30)
        evaluate_marked_subjects.apply_async(kwargs={"older_than_seconds": 0})
        wait_for(lambda: _alert(subject, "AL-HEP"), timeout=30)
        assert not EvaluationMark.objects.filter(subject=subject).exists()
    finally:
        worker.stop()
        broker.release()
        broker.stop()


def test_worker_killed_mid_task_loses_nothing_and_duplicates_nothing(site_a, investigator_a):
    subject = _on_infusion(site_a, investigator_a)
    slow = Worker(ALERTS_EVALUATION_PAUSE_SECONDS="3", CELERY_VISIBILITY_TIMEOUT="4").start()
    try:
        lab_panel_for(subject, by=investigator_a, alt="240", uln="40", days=13)
        time.sleep(1.5)  # the worker has taken the task and is inside it
        slow.kill()
    finally:
        slow.stop()
    assert _alert(subject, "AL-HEP") is None
    again = Worker(CELERY_VISIBILITY_TIMEOUT="4").start()
    try:
        wait_for(lambda: _alert(subject, "AL-HEP"), timeout=40)
        # A duplicated message changes nothing either.
        evaluate_subject.apply_async(args=[subject.pk])
        evaluate_subject.apply_async(args=[subject.pk])
        wait_for(lambda: not EvaluationMark.objects.filter(subject=subject).exists())
        time.sleep(1)
    finally:
        again.stop()
    assert Alert.objects.filter(subject=subject, rule="AL-HEP").count() == 1
    assert Alert.objects.get(subject=subject, rule="AL-HEP").history.count() <= 2
