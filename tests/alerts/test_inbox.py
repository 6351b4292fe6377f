"""Alerts for people: inbox by role and site, acknowledgement with a comment, decisions, mail."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, ProtocolDecision
from alerts.services import subject_evaluate
from crf.models import ResponseAssessment, Role
from crf.services import record_save
from safety.models import LabValue
from tests.factories import (
    baseline_for,
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-ALR-01")


def _hep_subject(site, investigator):
    subject = enrol(
        site, by=investigator, day1_date=timezone.localdate() - datetime.timedelta(days=20)
    )
    baseline_for(subject, by=investigator)
    day11_for(subject, by=investigator)
    infusion_started_for(subject, by=investigator)
    lab_panel_for(subject, by=investigator, alt="240", uln="40", days=13)
    return subject


@pytest.mark.verifies("AL-HEP")
@pytest.mark.django_db
def test_evaluation_is_idempotent(site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    first = subject_evaluate(subject.pk)
    second = subject_evaluate(subject.pk)
    assert first.created >= 1 and second.created == 0
    assert Alert.objects.filter(subject=subject, rule="AL-HEP").count() == 1


@pytest.mark.verifies("UR-ACC-01", "AL-HEP")
@pytest.mark.django_db
def test_inbox_shows_alerts_for_the_users_role_and_site_only(
    client, site_a, site_b, investigator_a
):
    subject = _hep_subject(site_a, investigator_a)
    subject_evaluate(subject.pk)
    client.force_login(investigator_a)
    page = client.get(reverse("alerts:inbox"))
    assert "AL-HEP" in page.content.decode()
    assert 'id="open-alerts"' in page.content.decode()
    client.force_login(user_with_role(Role.INVESTIGATOR, site_b))
    assert "AL-HEP" not in client.get(reverse("alerts:inbox")).content.decode()
    client.force_login(user_with_role(Role.CENTRAL_LAB, None))
    assert "AL-HEP" not in client.get(reverse("alerts:inbox")).content.decode()
    other = Alert.objects.get(rule="AL-HEP")
    assert client.get(reverse("alerts:detail", args=[other.pk])).status_code == 404


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_acknowledging_needs_a_comment_and_is_audited(client, site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    subject_evaluate(subject.pk)
    alert = Alert.objects.get(rule="AL-HEP")
    client.force_login(investigator_a)
    url = reverse("alerts:detail", args=[alert.pk])
    detail = client.get(url).content.decode()
    # the rules it cites, on the app's protocol page; never a file name
    assert f'href="{reverse("protocol")}#TX-HEP"' in detail and "Clears when" in detail
    assert "protocol-rules.md" not in detail
    value = LabValue.objects.get(panel__subject=subject)  # the triggering lab value, its own page
    assert f'href="/subjects/{subject.study_id}/labs/values/{value.pk}/"' in detail
    refused = client.post(url, {"comment": ""})
    assert "This field is required." in refused.content.decode()
    client.post(url, {"comment": "infusion stopped at 10:00, patient informed"})
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    latest = alert.history.first()
    assert latest.history_user == investigator_a
    assert "infusion stopped" in latest.history_change_reason


@pytest.mark.verifies("AL-HEP")
@pytest.mark.django_db
def test_urgent_alert_is_mailed_once(site_a, investigator_a, django_capture_on_commit_callbacks):
    investigator_a.email = "inv@example.org"
    investigator_a.save()
    monitor = user_with_role(Role.MONITOR, site_a, email="mon@example.org")
    subject = _hep_subject(site_a, investigator_a)
    with django_capture_on_commit_callbacks(execute=True):
        subject_evaluate(subject.pk)
    with django_capture_on_commit_callbacks(execute=True):
        subject_evaluate(subject.pk)
    hep = [m for m in mail.outbox if "AL-HEP" in m.body]
    assert len(hep) == 1
    assert set(hep[0].to) == {"inv@example.org", monitor.email}


@pytest.mark.verifies("AL-MRD-TRIGGER", "MR-4")
@pytest.mark.django_db
def test_referral_decision_clears_the_mrd_trigger(site_a, investigator_a):
    from decimal import Decimal

    from mrd.models import MrdResult
    from mrd.services import result_save, sample_record

    subject = enrol(
        site_a, by=investigator_a, day1_date=timezone.localdate() - datetime.timedelta(days=140)
    )
    baseline_for(subject, by=investigator_a)
    record_save(
        ResponseAssessment(
            subject=subject, assessed_on=subject.day1_date + datetime.timedelta(days=39),
            response="CR",
        ),
        user=investigator_a,
    )  # fmt: skip
    sample = sample_record(
        subject=subject, timepoint="W18", material="bone_marrow",
        sampled_on=subject.day1_date + datetime.timedelta(days=120), user=investigator_a,
    )  # fmt: skip
    result = result_save(
        MrdResult(sample=sample, method="qpcr", result_class="quantifiable",
                  value=Decimal("0.00023"), report_date=sample.sampled_on),
        user=user_with_role(Role.CENTRAL_LAB, None),
    )  # fmt: skip
    subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-MRD-TRIGGER")
    assert alert.status == Alert.Status.OPEN
    record_save(
        ProtocolDecision(
            subject=subject, kind="mrd_referral", about=f"mrd:{result.pk}",
            decided_on=timezone.localdate(), cd19_positive=True, blinatumomab_cycles=1,
            details="CD19 positive on flow; one cycle then HSCT",
        ),
        user=investigator_a,
    )  # fmt: skip
    subject_evaluate(subject.pk)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED and alert.resolved_at is not None


@pytest.mark.verifies("UR-ALR-02")
@pytest.mark.django_db
def test_evaluate_rules_command(site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    call_command("evaluate_rules", "--subject", subject.study_id)
    assert Alert.objects.filter(subject=subject, rule="AL-HEP").exists()
    call_command("evaluate_rules")
    assert Alert.objects.filter(subject=subject, rule="AL-HEP").count() == 1


@pytest.mark.verifies("UR-ALR-02")
@pytest.mark.django_db
def test_one_evaluation_is_enqueued_per_subject_per_transaction(
    site_a, investigator_a, django_capture_on_commit_callbacks
):
    from alerts.models import EvaluationMark

    with django_capture_on_commit_callbacks() as callbacks:
        # All in the test's one transaction: enrolment, visits, baseline, a panel and its value.
        subject = enrol(site_a, by=investigator_a)
        baseline_for(subject, by=investigator_a)
        lab_panel_for(subject, by=investigator_a)
    evaluations = [c for c in callbacks if getattr(c, "evaluates", None) == subject.pk]
    assert len(evaluations) == 1
    assert EvaluationMark.objects.filter(subject=subject).exists()


# --- The registry of alerts (protocol/rules.py ALERT_RULES) in the pages ---------------------


def test_every_decision_the_registry_names_can_be_recorded():
    from protocol.rules import ALERT_RULES, DecisionKind

    kinds = set(ProtocolDecision.Kind.values)
    assert {kind.value for kind in DecisionKind} == kinds
    for alert in ALERT_RULES.values():
        assert alert.decision is None or alert.decision.value in kinds, alert.id


@pytest.mark.django_db
def test_pages_offer_the_decision_the_registry_names(client, site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-HEP")
    decision = reverse("alerts:decision", args=[subject.study_id])
    link = f"{decision}?kind=hep_justification&amp;about={alert.record.replace(':', '%3A')}"
    client.force_login(investigator_a)
    detail = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert link in detail and "TX-HEP met during the blinatumomab infusion" in detail
    inbox = client.get(reverse("alerts:inbox")).content.decode()
    assert link in inbox
    form = client.get(f"{decision}?kind=hep_justification&about={alert.record}").content.decode()
    assert 'id="decision-clears"' in form and "<strong>AL-HEP</strong>" in form
    value = LabValue.objects.get(panel__subject=subject)
    assert f"(triggered by {value})" in form and value.get_test_display() in str(value)
    assert alert.record not in form  # the record by its name, never its key
    referral = client.get(f"{decision}?kind=mrd_referral").content.decode()
    assert "<strong>AL-MRD-TRIGGER</strong>" in referral
    assert "<strong>AL-MOL-RELAPSE</strong>" in referral
    assert 'id="decision-clears"' not in client.get(decision).content.decode()


@pytest.mark.django_db
def test_no_decision_is_offered_for_an_alert_only_the_data_clear(client, site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-HEP")
    # AL-CRS is cleared by an interruption or a discontinuation, not by a decision
    Alert.objects.filter(pk=alert.pk).update(rule="AL-CRS")
    client.force_login(investigator_a)
    detail = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert "Record the decision that clears it" not in detail
    assert "TX-CRS met" in detail
    inbox = client.get(reverse("alerts:inbox")).content.decode()
    assert "AL-CRS" in inbox and "Record the decision that clears it" not in inbox
