"""From a saved value to the alert, through a real Redis broker and a real Celery worker: one test
per path of the queue (a save, the broker down, a worker killed). What the rules make of the
data is tested in process (test_rule_lifecycle.py, test_inbox.py)."""

import datetime
import time

import pytest

from alerts.models import Alert, EvaluationMark
from alerts.tasks import evaluate_marked_subjects, evaluate_subject
from blinacell_site.celery import app
from crf.services.infusion import infusion_interrupt
from tests.factories import (
    lab_panel_for,
    subject_on_infusion,
)

from .worker import PrivateBroker, Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.verifies("UR-ALR-02")]


@pytest.fixture
def worker():
    running = Worker().start()
    yield running
    running.stop()


def _alert(subject, rule):
    return Alert.objects.filter(subject=subject, rule=rule).first()


@pytest.mark.verifies("AL-HEP", "TX-HEP")
def test_alt_six_times_uln_on_day_14_raises_al_hep_then_the_interruption_clears_it(
    worker, site_a, investigator_a
):
    subject = subject_on_infusion(site_a, by=investigator_a)
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


def test_broker_down_during_a_save_then_reconciliation_raises_the_alert(site_a, investigator_a):
    subject = subject_on_infusion(site_a, by=investigator_a)
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
    subject = subject_on_infusion(site_a, by=investigator_a)
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
