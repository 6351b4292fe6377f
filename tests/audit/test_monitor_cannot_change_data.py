"""A monitor cannot change trial data by any route: not the eCRF's forms, not the MRD upload,
not the Django admin. Nor can a sponsor, nor (for clinical forms) the central laboratory.

Every write route of tests/audit/routes.py is posted, with data the route's own writer gets
saved (test_write_routes.py), by a user of the same site in another role: the answer is 403 (or
404 where the view does not reveal the record) and no history table, no upload and no account
event gains a row. The admin is closed to non-staff users; for staff, clinical records are
read-only there and the other audited models change only through the audit (a reason, a user).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve, reverse

from accounts.models import AccountEvent
from alerts.models import Alert
from crf.models import Membership, Role, Site, Subject
from mrd.models import MrdResult, MrdUpload
from tests.factories import UserFactory, user_with_role

from .routes import (
    CASES,
    CASES_BY_ID,
    WRITE_ROUTES,
    alert_for,
    build_world,
    history_counts,
)

pytestmark = pytest.mark.verifies("UR-ACC-02")

INTRUDERS = [Role.MONITOR, Role.SPONSOR, Role.CENTRAL_LAB]


@pytest.fixture
def world(site_a, investigator_a, subject_a):
    return build_world(site_a, investigator_a, subject_a)


def _snapshot() -> dict:
    """Every history table's row count, and the unaudited rows a write route could add."""
    return {
        **history_counts(),
        "mrd.MrdUpload": MrdUpload.objects.count(),
        "accounts.AccountEvent": AccountEvent.objects.count(),
    }


def _expected_refusal(case, role, url: str) -> int:
    """404 where the view does not reveal the record to the user, else 403."""
    if case.route == "alerts:detail":
        return 404  # the alert is addressed to investigators: others do not see it
    if role == Role.SPONSOR and "study_id" in resolve(url.split("?")[0]).kwargs:
        return 404  # the sponsor sees no subject pages
    return 403


def _intruder_cases():
    for case in CASES:
        for role in INTRUDERS:
            if role == Role.CENTRAL_LAB and not case.clinical:
                continue  # the central laboratory is the writer of MRD results
            yield pytest.param(case, role, id=f"{case.id}-{role}")


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "role"), list(_intruder_cases()))
def test_other_roles_of_the_site_cannot_write_through_the_route(client, world, case, role):
    submission = case.arrange(world)
    intruder = user_with_role(role, None if role == Role.CENTRAL_LAB else world.site)
    if role == Role.CENTRAL_LAB:
        assert case.writer != Role.CENTRAL_LAB
    client.force_login(intruder)
    record = submission.record
    stored_before = (
        type(record).objects.filter(pk=record.pk).values().get() if record is not None else None
    )
    before = _snapshot()

    response = submission.post(client)

    assert response.status_code == _expected_refusal(case, role, submission.url)
    assert _snapshot() == before
    if record is not None:
        assert type(record).objects.filter(pk=record.pk).values().get() == stored_before


def test_every_write_route_is_tried_by_a_monitor():
    assert {case.route for case in CASES} == set(WRITE_ROUTES)


# --- The MRD upload --------------------------------------------------------------------------


@pytest.mark.django_db
def test_monitor_cannot_upload_mrd_results_nor_commit_the_labs_file(client, world):
    monitor = user_with_role(Role.MONITOR, world.site)
    client.force_login(monitor)
    upload = CASES_BY_ID["mrd_upload"].arrange(world)
    before = _snapshot()
    assert upload.post(client).status_code == 403
    assert client.get(reverse("mrd:upload")).status_code == 403
    assert client.get(reverse("mrd:upload_template")).status_code == 403
    assert _snapshot() == before

    commit = CASES_BY_ID["mrd_upload_commit"].arrange(world)  # the laboratory's own file
    received = commit.notes["upload"]
    before = _snapshot()
    assert client.get(reverse("mrd:upload_preview", args=[received.pk])).status_code == 403
    assert commit.post(client).status_code == 403
    assert _snapshot() == before
    received.refresh_from_db()
    assert (received.status, received.committed_at) == (MrdUpload.Status.READY, None)
    assert not MrdResult.objects.filter(sample=commit.notes["first"]).exists()


@pytest.mark.django_db
def test_another_lab_user_cannot_commit_the_file_of_a_colleague(client, world):
    commit = CASES_BY_ID["mrd_upload_commit"].arrange(world)
    client.force_login(user_with_role(Role.CENTRAL_LAB, None))
    before = _snapshot()
    assert commit.post(client).status_code == 404
    assert _snapshot() == before


# --- Alerts addressed to monitors ------------------------------------------------------------


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_monitor_acknowledges_only_alerts_addressed_to_monitors_and_is_audited(client, world):
    """rules §9 names the monitor among those who act on AL-HEP, AL-CRS, AL-NEU and AL-DOSE:
    a monitor may acknowledge such an alert (a workflow status, not trial data), audited as
    theirs; no clinical record changes."""
    monitor = user_with_role(Role.MONITOR, world.site)
    alert = alert_for(world, Role.INVESTIGATOR.value, Role.MONITOR.value, rule="AL-DOSE")
    client.force_login(monitor)
    before = _snapshot()
    response = client.post(reverse("alerts:detail", args=[alert.pk]), {"comment": "seen"})
    assert response.status_code == 302
    after = _snapshot()
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"alerts.HistoricalAlert"}
    latest = alert.history.order_by("-history_id").first()
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~",
        monitor,
        "acknowledged: seen",
    )
    alert.refresh_from_db()
    assert (alert.status, alert.version) == (Alert.Status.ACKNOWLEDGED, 2)


# --- The Django admin -----------------------------------------------------------------------


def _admin_change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.django_db
def test_monitor_is_not_let_into_the_admin(client, world):
    monitor = user_with_role(Role.MONITOR, world.site)
    assert not monitor.is_staff
    client.force_login(monitor)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get(response["Location"]).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("staff", [False, True], ids=["not-staff", "staff-without-permissions"])
def test_monitor_cannot_change_anything_through_the_admin(client, world, staff):
    monitor = user_with_role(Role.MONITOR, world.site)
    if staff:
        monitor.is_staff = True
        monitor.save()
    client.force_login(monitor)
    subject = world.subject
    before = _snapshot()
    posts = [
        (_admin_change_url(subject), {"day1_date": "2026-01-01", "reason_for_change": "x"}),
        (
            reverse("admin:crf_membership_add"),
            {"user": monitor.pk, "role": Role.INVESTIGATOR, "site": world.site.pk},
        ),
        (
            _admin_change_url(world.site),
            {"number": 1, "city": "Elsewhere", "name": "X", "reason_for_change": "x"},
        ),
        (
            reverse("admin:auth_user_change", args=[monitor.pk]),
            {"username": monitor.username, "is_staff": "on", "is_superuser": "on"},
        ),
        (
            reverse(
                "admin:crf_subject_simple_history",
                args=[subject.pk, subject.history.get().history_id],
            ),
            {"day1_date": "2026-01-01"},
        ),
    ]
    for url, data in posts:
        response = client.post(url, data)
        if staff:
            assert response.status_code == 403, url
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url
    assert _snapshot() == before
    assert Membership.objects.filter(user=monitor).values_list("role", flat=True).get() == "monitor"
    monitor.refresh_from_db()
    assert (monitor.is_staff, monitor.is_superuser) == (staff, False)
    assert Subject.objects.get(pk=subject.pk).day1_date == datetime.date(2026, 3, 2)
    assert Site.objects.get(pk=world.site.pk).city == "Prague"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", "x-y-z-12345!")


@pytest.mark.verifies("UR-REC-01", "UR-AUD-01")
@pytest.mark.django_db
def test_clinical_records_are_read_only_in_the_admin_even_for_a_superuser(client, world, superuser):
    from mrd.services import result_save, sample_record

    client.force_login(superuser)
    subject = world.subject
    w11 = sample_record(
        subject=subject,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=world.investigator,
    )
    result = result_save(
        MrdResult(
            sample=w11,
            method="qpcr",
            result_class="negative",
            sensitivity=Decimal("0.00001"),
            report_date=datetime.date(2026, 5, 20),
        ),
        user=world.central_lab,
    )
    page = client.get(_admin_change_url(subject))
    assert page.status_code == 200  # shown ...
    assert page.context["has_change_permission"] is False  # ... read-only
    before = _snapshot()
    refused = [
        (_admin_change_url(subject), {"day1_date": "2026-01-01"}),
        (reverse("admin:crf_subject_add"), {"day1_date": "2026-01-01"}),
        (reverse("admin:crf_subject_delete", args=[subject.pk]), {"post": "yes"}),
        (_admin_change_url(w11), {"accession": "1-01-W11", "timepoint": "D40"}),
        (_admin_change_url(result), {"result_class": "quantifiable", "value": "0.1"}),
        (reverse("admin:mrd_mrdresult_add"), {"sample": w11.pk, "method": "ngs"}),
    ]
    for url, data in refused:
        assert client.post(url, data).status_code == 403, url
    assert _snapshot() == before
    assert Subject.objects.get(pk=subject.pk).day1_date == datetime.date(2026, 3, 2)


def _admin_form_data(response) -> dict:
    """The POST data of an admin form as the page shows it (its current values)."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        if value is True:
            value = "on"
        elif isinstance(value, list | tuple):
            value = [str(v) for v in value]
        data[name] = value
    return data


def _revert_post(client, world, superuser):
    """A superuser POSTs the history form of subject 1-01's first version (day 1 = 2026-03-02)
    after the record was corrected to 2026-03-03: a revert, which the settings disable."""
    from audit.services import audited_save

    subject = world.subject
    first = subject.history.get()
    subject.day1_date = datetime.date(2026, 3, 3)
    audited_save(subject, user=world.investigator, reason="wrong day copied")
    client.force_login(superuser)
    url = reverse("admin:crf_subject_simple_history", args=[subject.pk, first.history_id])
    page = client.get(url)
    assert page.status_code == 200
    data = _admin_form_data(page)
    assert str(data["day1_date"]) == "2026-03-02"
    before = _snapshot()
    client.raise_request_exception = False
    response = client.post(url, data)
    return response, before


@pytest.mark.verifies("UR-REC-01", "UR-AUD-01")
@pytest.mark.django_db
def test_a_revert_of_a_clinical_record_through_the_admin_history_saves_nothing(
    client, world, superuser
):
    response, before = _revert_post(client, world, superuser)
    assert response.status_code == 403
    assert _snapshot() == before
    stored = Subject.objects.get(pk=world.subject.pk)
    assert (stored.day1_date, stored.version) == (datetime.date(2026, 3, 3), 2)


@pytest.mark.verifies("UR-REC-01", "UR-AUD-01")
@pytest.mark.django_db
def test_a_revert_of_a_clinical_record_through_the_admin_history_is_refused(
    client, world, superuser
):
    response, _ = _revert_post(client, world, superuser)
    assert response.status_code == 403


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_a_superuser_changes_a_site_only_through_the_audit(client, world, superuser):
    site = world.site
    client.force_login(superuser)
    url = _admin_change_url(site)
    data = {"number": "1", "city": "Praha", "name": site.name}
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["reason_for_change"] == [
        "Give a reason for this change."
    ]
    assert Site.objects.get(pk=site.pk).city == "Prague"

    response = client.post(url, {**data, "reason_for_change": "city renamed in Czech"})
    assert response.status_code == 302
    stored = Site.objects.get(pk=site.pk)
    assert (stored.city, stored.version, stored.updated_by) == ("Praha", 2, superuser)
    latest = site.history.order_by("-history_id").first()
    assert (
        latest.history_type,
        latest.history_user,
        latest.history_change_reason,
        latest.city,
        latest.version,
    ) == ("~", superuser, "city renamed in Czech", "Praha", 2)


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_a_superuser_grants_a_membership_only_through_the_audit(client, world, superuser):
    newcomer = UserFactory(username="newcomer")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:crf_membership_add"),
        {"user": newcomer.pk, "role": Role.MONITOR, "site": world.site.pk},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=newcomer)
    created = membership.history.get()
    assert (
        created.history_type,
        created.history_user,
        created.history_change_reason,
        created.role,
    ) == ("+", superuser, "created in administration", "monitor")
    assert (
        client.post(
            reverse("admin:crf_membership_delete", args=[membership.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.verifies("UR-REC-01")
def test_the_admin_registrations_are_the_known_ones():
    """A new admin registration must be looked at here: clinical records read-only."""
    from django.contrib import admin

    from audit.admin import AuditedAdmin, ReadOnlyAuditedAdmin

    registered = {
        model._meta.label: type(model_admin) for model, model_admin in admin.site._registry.items()
    }
    read_only = sorted(k for k, v in registered.items() if issubclass(v, ReadOnlyAuditedAdmin))
    audited = sorted(k for k, v in registered.items() if issubclass(v, AuditedAdmin))
    assert read_only == ["crf.Subject", "mrd.MrdResult", "mrd.MrdSample"]
    assert audited == ["crf.Membership", "crf.Site"]
    clinical_apps = {"crf", "mrd", "safety", "alerts", "monitoring"}
    other = sorted(
        label
        for label, cls in registered.items()
        if label.split(".")[0] in clinical_apps
        and not issubclass(cls, ReadOnlyAuditedAdmin | AuditedAdmin)
    )
    assert other == []


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_a_site_history_form_never_writes_an_old_version_back(client, world, superuser):
    """The history pages of audited admin records show old versions; a POST to them (a revert)
    is refused whatever the version, and nothing changes."""
    from audit.services import audited_save

    site = world.site
    first = site.history.get()
    site.city = "Praha"
    audited_save(site, user=world.investigator, reason="renamed")
    current = site.history.order_by("-history_id").first()
    client.force_login(superuser)
    data = {"number": "1", "city": "Brno", "name": site.name, "reason_for_change": "revert"}
    before = _snapshot()
    for version in (first, current):
        url = reverse("admin:crf_site_simple_history", args=[site.pk, version.history_id])
        assert client.get(url).status_code == 200  # old versions can still be read
        assert client.post(url, data).status_code == 403
    assert _snapshot() == before
    assert Site.objects.get(pk=site.pk).city == "Praha"
