"""The alert pages (rules §9): each role's inbox holds exactly the alerts addressed to it at its
sites; an alert's page offers the action it asks for (alerts.actions) while it is open or
acknowledged; and it says truly to how many people, and whom, it was e-mailed."""

import datetime
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from alerts import services
from alerts.actions import ALERT_ACTIONS, DECISION, Lookups, offered
from alerts.models import Alert
from audit.services import audited_save
from crf.models import BlinatumomabInfusion, Role, Visit
from crf.services.infusion import infusion_interrupt
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from protocol import rules
from tests.factories import (
    baseline_for,
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-ALR-01")

INV, MON, DM, LAB, SPONSOR = (
    Role.INVESTIGATOR,
    Role.MONITOR,
    Role.DATA_MANAGER,
    Role.CENTRAL_LAB,
    Role.SPONSOR,
)
# Who must act, section 9 of docs/protocol-rules.md, in the app's roles (sponsor safety: sponsor).
ADDRESSED = {
    "AL-HEP": {INV, MON},
    "AL-HEP-RESTART": {INV},
    "AL-CRS": {INV, MON},
    "AL-NEU": {INV, MON},
    "AL-DOSE": {INV, MON},
    "AL-INT-LONG": {INV},
    "AL-MRD-TRIGGER": {INV, DM},
    "AL-MOL-RELAPSE": {INV, DM},
    "AL-W11-NGS": {LAB},
    "AL-W11-MISSING": {LAB, INV},
    "AL-REFRACTORY": {INV, DM},
    "AL-SAE-CLOCK": {INV, SPONSOR},
    "AL-VISIT-OVERDUE": {INV},
}


def _raise(subject, rule: str, record: str = "test:1") -> Alert:
    """An alert of `rule` for `subject`, stored the way an evaluation stores its findings."""
    definition = rules.ALERT_RULES[rule]
    finding = rules.Finding(
        rule,
        definition.severity,
        f"{rule} for the test",
        record,
        definition.actors,
        definition.clears_when,
        rule,
    )
    services._reconcile(subject, [finding], [], timezone.now())
    return Alert.objects.get(subject=subject, rule=rule, record=record)


def _detail_href(alert) -> str:
    return f'href="{reverse("alerts:detail", args=[alert.pk])}"'


def _page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# --- Who must act: the registry's actors are the app's roles ---------------------------------


def test_the_registry_addresses_the_alerts_as_section_9_says():
    assert set(ADDRESSED) == set(rules.ALERT_RULES)
    for rule, definition in rules.ALERT_RULES.items():
        roles = {services.ACTOR_ROLES[actor] for actor in definition.actors}
        assert roles == ADDRESSED[rule], rule


def test_every_role_is_an_actor_and_every_actor_a_role():
    assert set(services.ROLE_ACTORS) == set(Role.values)
    assert set(services.ACTOR_ROLES) == set(rules.Actor)
    assert set(services.ACTOR_ROLES.values()) <= set(Role.values)


# --- Each role's inbox: every rule x role, at the role's site and at another -----------------

SCOPES = [
    (INV, False),
    (MON, False),
    (DM, False),
    (LAB, False),
    (SPONSOR, False),
    (DM, True),  # study-wide: every site
    (LAB, True),
    (SPONSOR, True),
]


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "study_wide"),
    SCOPES,
    ids=[f"{role}-{'study' if wide else 'site'}" for role, wide in SCOPES],
)
@pytest.mark.parametrize("rule", list(ADDRESSED))
def test_each_roles_inbox_holds_exactly_the_alerts_addressed_to_it(
    client, site_a, site_b, investigator_a, investigator_b, rule, role, study_wide
):
    here = _raise(enrol(site_a, by=investigator_a), rule)
    there = _raise(enrol(site_b, by=investigator_b), rule)
    user = user_with_role(role, None if study_wide else site_a)
    page = _page(client, user, reverse("alerts:inbox"))
    shown = {alert.pk for alert in (here, there) if _detail_href(alert) in page}
    if role not in ADDRESSED[rule]:
        expected = set()
    else:
        expected = {here.pk, there.pk} if study_wide else {here.pk}
    assert shown == expected
    assert ("No alert." in page) == (not expected)
    assert set(services.alerts_for(user).values_list("pk", flat=True)) == expected
    for alert in (here, there):
        status = client.get(reverse("alerts:detail", args=[alert.pk])).status_code
        assert status == (200 if alert.pk in expected else 404)


def _hep_subject(site, investigator, days_ago=20):
    subject = enrol(
        site, by=investigator, day1_date=timezone.localdate() - datetime.timedelta(days=days_ago)
    )
    baseline_for(subject, by=investigator)
    day11_for(subject, by=investigator)
    infusion_started_for(subject, by=investigator)
    lab_panel_for(subject, by=investigator, alt="240", uln="40", days=13)
    return subject


@pytest.mark.django_db
def test_the_monitor_sees_the_sites_alerts_addressed_to_monitors(client, site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    services.subject_evaluate(subject.pk)
    monitor = user_with_role(MON, site_a)
    page = _page(client, monitor, reverse("alerts:inbox"))
    assert "AL-HEP" in page and "No alert." not in page
    assert 'id="open-alerts"' in page  # the navigation's count


@pytest.mark.django_db
def test_an_alert_stored_with_stale_actors_follows_the_registry(client, site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    services.subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-HEP")
    Alert.objects.filter(pk=alert.pk).update(actors=["investigator", "site_monitor"])
    monitor = user_with_role(MON, site_a)
    assert not services.alerts_for(monitor).exists()
    services.subject_evaluate(subject.pk)
    alert.refresh_from_db()
    assert alert.actors == ["investigator", "monitor"]
    assert list(services.alerts_for(monitor)) == [alert]
    assert alert.history.first().history_change_reason == (
        "who must act, as the alert registry says"
    )


# --- The action each alert asks for -----------------------------------------------------------


def test_every_rule_has_its_actions_and_the_registrys_decision():
    assert set(ALERT_ACTIONS) == set(rules.ALERT_RULES)
    for rule, definition in rules.ALERT_RULES.items():
        assert (DECISION in ALERT_ACTIONS[rule]) == (definition.decision is not None), rule
        assert ALERT_ACTIONS[rule], rule


def _decision_link(subject, kind, record):
    url = reverse("alerts:decision", args=[subject.study_id])
    return f"{url}?kind={kind}&amp;about={record.replace(':', '%3A')}"


def _infusion_link(subject, action, field):
    url = reverse("crf:infusion_action", args=[subject.study_id, action])
    return f"{url}#div_id_{action}-{field}"


# rule -> the links the investigator is offered: (action, field) of the infusion page, or the
# registry's decision kind
INFUSION_LINKS = {
    "AL-HEP": [("interrupt", "started_at"), "hep_justification"],
    "AL-HEP-RESTART": [("restart", "restarted_at")],
    "AL-CRS": [("interrupt", "started_at"), ("end", "ended_at")],
    "AL-NEU": [("interrupt", "started_at"), ("end", "ended_at")],
    "AL-DOSE": [("dose", "at"), "dose_deviation_reason"],
    "AL-INT-LONG": [("end", "ended_at")],
    "AL-MRD-TRIGGER": ["mrd_referral"],
    "AL-MOL-RELAPSE": ["mrd_referral"],
    "AL-REFRACTORY": ["off_protocol_treatment"],
}


def _links(page: str) -> list[str]:
    return re.findall(r'<a class="[^"]*alert-action[^"]*" href="([^"]+)"', page)


@pytest.mark.django_db
@pytest.mark.parametrize("rule", list(INFUSION_LINKS))
def test_the_alert_page_links_the_infusion_form_or_decision_it_asks_for(
    client, subject_a, investigator_a, rule
):
    alert = _raise(subject_a, rule, "lab:7")
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    expected = [
        _decision_link(subject_a, link, alert.record)
        if isinstance(link, str)
        else _infusion_link(subject_a, *link)
        for link in INFUSION_LINKS[rule]
    ]
    assert _links(page) == expected
    assert 'id="alert-actions"' in page
    inbox = _page(client, investigator_a, reverse("alerts:inbox"))
    assert _links(inbox) == expected


@pytest.mark.verifies("AL-SAE-CLOCK")
@pytest.mark.django_db
def test_the_sae_clock_links_the_adverse_events_sponsor_notification(
    client, site_a, investigator_a
):
    subject = enrol(site_a, by=investigator_a)
    event = serious_ae_for(subject, by=investigator_a)
    alert = _raise(subject, "AL-SAE-CLOCK", f"ae:{event.pk}")
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    url = reverse("safety:adverse_event", args=[subject.study_id, event.pk])
    assert _links(page) == [f"{url}#div_id_sponsor_notified_at"]
    assert 'id="div_id_sponsor_notified_at"' in _page(client, investigator_a, url)
    sponsor = user_with_role(SPONSOR, None)  # addressed, but the site reports: no link
    page = _page(client, sponsor, reverse("alerts:detail", args=[alert.pk]))
    assert _links(page) == []
    assert "Record the sponsor notification on the adverse event" in page


@pytest.mark.verifies("AL-VISIT-OVERDUE")
@pytest.mark.django_db
def test_an_overdue_visit_links_its_visit_form(client, subject_a, investigator_a):
    visit = Visit.objects.filter(subject=subject_a).first()
    alert = _raise(subject_a, "AL-VISIT-OVERDUE", f"visit:{visit.pk}")
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    url = reverse("crf:record_edit", args=[subject_a.study_id, "visit", visit.pk])
    assert _links(page) == [f"{url}#div_id_actual_date"]
    form = _page(client, investigator_a, url)
    assert 'id="div_id_actual_date"' in form and 'id="div_id_missed"' in form


@pytest.mark.verifies("AL-W11-MISSING")
@pytest.mark.django_db
def test_a_missing_week_11_result_links_the_sample_the_missed_visit_and_the_reason(
    client, site_a, investigator_a
):
    subject = enrol(
        site_a, by=investigator_a, day1_date=timezone.localdate() - datetime.timedelta(days=100)
    )
    visit = Visit.objects.get(subject=subject, code="W11")
    alert = _raise(subject, "AL-W11-MISSING", f"visit:{visit.pk}")
    detail = reverse("alerts:detail", args=[alert.pk])
    page = _page(client, investigator_a, detail)
    mrd_page = reverse("mrd:subject", args=[subject.study_id])
    visit_form = reverse("crf:record_edit", args=[subject.study_id, "visit", visit.pk])
    assert _links(page) == [
        f"{mrd_page}#div_id_timepoint",
        f"{visit_form}#div_id_missed",
        _decision_link(subject, "w11_missing_reason", alert.record),
    ]
    assert 'id="div_id_timepoint"' in _page(client, investigator_a, mrd_page)
    # the central laboratory: a result to enter once the week-11 sample is recorded
    lab = user_with_role(LAB, None)
    assert _links(_page(client, lab, detail)) == []
    sample = sample_record(
        subject=subject, timepoint="W11", material="bone_marrow",
        sampled_on=subject.day1_date + datetime.timedelta(days=75), user=investigator_a,
    )  # fmt: skip
    result_form = reverse("mrd:result", args=[sample.accession, "qpcr"])
    assert _links(_page(client, lab, detail)) == [result_form]
    assert _links(_page(client, lab, reverse("alerts:inbox"))) == [result_form]
    assert client.get(result_form).status_code == 200


@pytest.mark.verifies("AL-W11-NGS")
@pytest.mark.django_db
def test_a_week_11_pnq_links_the_ngs_result_of_its_sample(client, site_a, investigator_a):
    subject = enrol(
        site_a, by=investigator_a, day1_date=timezone.localdate() - datetime.timedelta(days=100)
    )
    sample = sample_record(
        subject=subject, timepoint="W11", material="bone_marrow",
        sampled_on=subject.day1_date + datetime.timedelta(days=75), user=investigator_a,
    )  # fmt: skip
    lab = user_with_role(LAB, None)
    result = result_save(
        MrdResult(sample=sample, method="qpcr", result_class="quantifiable",
                  value=Decimal("0.00023"), report_date=sample.sampled_on),
        user=lab,
    )  # fmt: skip
    alert = _raise(subject, "AL-W11-NGS", f"mrd:{result.pk}")
    ngs = reverse("mrd:result", args=[sample.accession, "ngs"])
    assert _links(_page(client, lab, reverse("alerts:detail", args=[alert.pk]))) == [ngs]
    assert client.get(ngs).status_code == 200


@pytest.mark.django_db
def test_the_infusion_links_land_on_forms_the_infusion_page_shows(client, site_a, investigator_a):
    subject = _hep_subject(site_a, investigator_a)
    running = {"AL-HEP": "lab:1", "AL-CRS": "ae:1", "AL-DOSE": "dose:1"}
    alerts = [_raise(subject, rule, record) for rule, record in running.items()]
    infusion = BlinatumomabInfusion.objects.get(subject=subject)
    _assert_anchors_exist(client, investigator_a, alerts)
    infusion_interrupt(
        record=infusion, started_at=infusion.started_at + datetime.timedelta(days=1),
        reason="crs", reason_other="", user=investigator_a,
    )  # fmt: skip
    interrupted = {"AL-HEP-RESTART": "interruption:1", "AL-INT-LONG": "interruption:2"}
    alerts = [_raise(subject, rule, record) for rule, record in interrupted.items()]
    _assert_anchors_exist(client, investigator_a, alerts)


def _assert_anchors_exist(client, user, alerts):
    for alert in alerts:
        for action in offered(alert, user, Lookups.of([alert])):
            url = urlsplit(action.url)
            if not url.fragment:
                continue
            target = _page(client, user, url.path)
            assert f'id="{url.fragment}"' in target, (alert.rule, action.url)


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_only_the_roles_that_record_it_get_a_link(client, site_a, investigator_a):
    subject = enrol(site_a, by=investigator_a)
    alert = _raise(subject, "AL-HEP", "lab:1")
    monitor = user_with_role(MON, site_a)
    page = _page(client, monitor, reverse("alerts:detail", args=[alert.pk]))
    assert _links(page) == []
    assert "Interrupt the infusion" in page and "recorded by a role that enters it" in page
    assert _links(_page(client, monitor, reverse("alerts:inbox"))) == []


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Alert.Status.RESOLVED, Alert.Status.CLOSED])
def test_a_resolved_or_closed_alert_offers_no_action_and_no_decision(
    client, subject_a, investigator_a, status
):
    alert = _raise(subject_a, "AL-HEP", "lab:1")
    detail = reverse("alerts:detail", args=[alert.pk])
    assert "Record the decision that clears it" in _page(client, investigator_a, detail)
    alert.status = status
    alert.resolved_at = timezone.now() if status == Alert.Status.RESOLVED else None
    audited_save(alert, user=None, reason="test")
    page = _page(client, investigator_a, detail)
    assert "Record the decision that clears it" not in page
    assert "Interrupt the infusion" not in page and 'id="alert-actions"' not in page
    assert "<textarea" not in page  # nor the acknowledgement form
    inbox = _page(client, investigator_a, reverse("alerts:inbox") + "?status=")
    assert _detail_href(alert) in inbox and _links(inbox) == []


@pytest.mark.django_db
def test_an_acknowledged_alert_still_offers_its_actions(client, subject_a, investigator_a):
    alert = _raise(subject_a, "AL-HEP", "lab:1")
    services.alert_acknowledge(alert, user=investigator_a, comment="seen, calling the ward")
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    assert "Record the decision that clears it" in page and "Interrupt the infusion" in page


# --- The e-mail ---------------------------------------------------------------------------------


def _notification(page: str) -> str:
    found = re.search(r'<dd class="col-sm-9" id="alert-notification">([^<]*)</dd>', page)
    assert found, "no e-mail line"
    return found.group(1)


@pytest.mark.django_db
def test_the_page_says_to_how_many_and_whom_the_alert_was_emailed(
    client, site_a, site_b, investigator_a, django_capture_on_commit_callbacks
):
    investigator_a.email = "inv.a@example.org"
    investigator_a.save()
    user_with_role(MON, site_a, username="mon.a", email="mon.a@example.org")
    user_with_role(MON, site_a, username="mon.noaddress", email="")
    user_with_role(INV, site_a, username="inv.gone", email="gone@example.org", is_active=False)
    user_with_role(INV, site_b, username="inv.b2", email="inv.b@example.org")
    user_with_role(DM, None, username="dm", email="dm@example.org")  # not addressed
    subject = _hep_subject(site_a, investigator_a)
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-HEP")
    (message,) = [m for m in mail.outbox if "AL-HEP" in m.body]
    assert sorted(message.to) == ["inv.a@example.org", "mon.a@example.org"]
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    line = _notification(page)
    assert line.startswith(f"E-mailed to {len(message.to)} people: ")
    assert "investigator inv.a; monitor mon.a" in line
    assert alert.notified_at is not None
    assert (
        alert.notified_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")
        in line
    )
    assert "e-mailed to 2 people: investigator inv.a; monitor mon.a" in page  # the history


@pytest.mark.django_db
def test_nobody_to_email_is_said_and_not_called_emailed(
    client, site_a, investigator_a, django_capture_on_commit_callbacks
):
    user_with_role(MON, site_a, email="")
    subject = _hep_subject(site_a, investigator_a)  # the investigator has no e-mail address
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_evaluate(subject.pk)
    alert = Alert.objects.get(subject=subject, rule="AL-HEP")
    assert mail.outbox == [] and alert.notified_at is None
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    assert _notification(page) == (
        "Not e-mailed: no investigator or monitor with an e-mail address at site 1 (Prague)"
    )
    assert "e-mailed to 0" not in page


@pytest.mark.django_db
def test_an_alert_is_emailed_only_to_the_roles_it_is_addressed_to(
    client, site_a, investigator_a, django_capture_on_commit_callbacks
):
    investigator_a.email = "inv.a@example.org"
    investigator_a.save()
    user_with_role(MON, site_a, username="mon.a", email="mon.a@example.org")
    subject = enrol(site_a, by=investigator_a)
    with django_capture_on_commit_callbacks(execute=True):
        alert = _raise(subject, "AL-SAE-CLOCK", "ae:1")  # investigator and sponsor safety
    (message,) = mail.outbox
    assert message.to == ["inv.a@example.org"]
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    assert _notification(page).startswith("E-mailed to 1 person: investigator inv.a (")


@pytest.mark.django_db
def test_a_mail_the_server_refuses_is_recorded_as_not_emailed(
    client, site_a, investigator_a, django_capture_on_commit_callbacks, monkeypatch
):
    from smtplib import SMTPException

    def refuse(*args, **kwargs):
        raise SMTPException("relay denied")

    monkeypatch.setattr(services, "send_mail", refuse)
    investigator_a.email = "inv.a@example.org"
    investigator_a.save()
    subject = enrol(site_a, by=investigator_a)
    with django_capture_on_commit_callbacks(execute=True):
        alert = _raise(subject, "AL-CRS", "ae:1")
    alert.refresh_from_db()
    assert alert.notified_at is None
    page = _page(client, investigator_a, reverse("alerts:detail", args=[alert.pk]))
    assert _notification(page) == "Not e-mailed: the mail server refused it (SMTPException)"


@pytest.mark.django_db
def test_pages_read_the_old_notification_reasons_truthfully(client, subject_a, investigator_a):
    alert = _raise(subject_a, "AL-DOSE", "dose:1")  # a warning: never e-mailed
    detail = reverse("alerts:detail", args=[alert.pk])
    assert _notification(_page(client, investigator_a, detail)) == (
        "Not e-mailed: only urgent alerts are e-mailed"
    )
    urgent = _raise(subject_a, "AL-CRS", "ae:1")
    urgent.notified_at = timezone.now()
    audited_save(urgent, user=None, reason="e-mailed to 0 recipient(s)")  # as written before
    page = _page(client, investigator_a, reverse("alerts:detail", args=[urgent.pk]))
    assert _notification(page) == (
        "Not e-mailed: no investigator or monitor with an e-mail address at the site"
    )
    urgent.notified_at = timezone.now()
    audited_save(urgent, user=None, reason="e-mailed to 3 recipient(s)")
    page = _page(client, investigator_a, reverse("alerts:detail", args=[urgent.pk]))
    assert _notification(page).startswith("E-mailed to 3 people (")
