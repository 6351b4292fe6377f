"""The study-wide audit trail: every site the reader may see, account events, filters, order."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent
from accounts.services import account_event_record
from audit.services import record_mark_entered_in_error
from crf.models import Baseline, Role
from crf.services import record_save
from monitoring.audit_review import AuditScope, AuditTrail
from tests.factories import baseline_for, lab_panel_for, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-01")

URL = "monitoring:study_audit"


def _events(response):
    return list(response.context["page"])


@pytest.fixture
def two_sites(subject_a, subject_b, investigator_a, investigator_b):
    baseline_for(subject_a, by=investigator_a)
    baseline_for(subject_b, by=investigator_b)
    account_event_record(kind=AccountEvent.Kind.LOGIN, user=investigator_a)
    account_event_record(kind=AccountEvent.Kind.LOGIN, user=investigator_b)
    account_event_record(kind=AccountEvent.Kind.LOGIN_FAILED, username="nobody.known")
    return subject_a, subject_b


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_a_site_monitor_sees_only_their_sites_changes_and_people(client, two_sites, site_a):
    subject_a, subject_b = two_sites
    monitor = user_with_role(Role.MONITOR, site_a, username="mon.a")
    client.force_login(monitor)
    events = _events(client.get(reverse(URL), {"form": "Baseline"}))
    assert {e.subject for e in events} == {subject_a.study_id}
    logins = _events(client.get(reverse(URL), {"form": "Account"}))
    assert {(e.user, e.record) for e in logins} == {("inv.a", "Login"), ("mon.a", "Login")}
    body = client.get(reverse(URL)).content.decode()
    assert subject_b.study_id not in body and "nobody.known" not in body


@pytest.mark.verifies("UR-ACC-03")
@pytest.mark.django_db
def test_a_data_manager_sees_every_site_and_failed_logins_of_unknown_names(client, two_sites):
    subject_a, subject_b = two_sites
    client.force_login(user_with_role(Role.DATA_MANAGER))
    events = _events(client.get(reverse(URL), {"form": "Baseline"}))
    assert {e.subject for e in events} == {subject_a.study_id, subject_b.study_id}
    failed = _events(client.get(reverse(URL), {"form": "Account", "user": "nobody.known"}))
    assert [(e.record, e.kind) for e in failed] == [("Failed login", "login_failed")]


@pytest.mark.django_db
def test_role_changes_appear_in_the_trail(client, site_a):
    data_manager = user_with_role(Role.DATA_MANAGER)
    user_with_role(Role.INVESTIGATOR, site_a, username="new.investigator")
    client.force_login(data_manager)
    events = _events(client.get(reverse(URL), {"form": "Membership"}))
    granted = [e for e in events if any(c.new == "new.investigator" for c in e.changes)]
    assert granted and granted[0].kind == "created"
    assert any(c.field == "Role" and c.new == "Investigator" for c in granted[0].changes)


@pytest.mark.django_db
def test_filters_by_user_date_and_site(client, two_sites, site_b, investigator_b):
    client.force_login(user_with_role(Role.DATA_MANAGER))
    by_user = _events(client.get(reverse(URL), {"user": "inv.b"}))
    assert by_user and {e.user for e in by_user} == {"inv.b"}
    by_site = _events(client.get(reverse(URL), {"site": site_b.pk, "form": "Baseline"}))
    assert {e.site for e in by_site} == {"2"}
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert _events(client.get(reverse(URL), {"since": tomorrow.isoformat()})) == []
    today = timezone.localdate().isoformat()
    assert _events(client.get(reverse(URL), {"since": today, "until": today}))
    wrong = client.get(reverse(URL), {"since": tomorrow.isoformat(), "until": today})
    assert "The &#x27;from&#x27; date is after the &#x27;to&#x27; date." in wrong.content.decode()
    assert _events(wrong) == []


@pytest.mark.django_db
def test_an_unknown_subject_filter_says_so_and_shows_nothing(client, two_sites, site_a):
    _, subject_b = two_sites
    client.force_login(user_with_role(Role.MONITOR, site_a))
    response = client.get(reverse(URL), {"subject": subject_b.study_id})
    assert "No such subject at your sites." in response.content.decode()
    assert _events(response) == []


@pytest.mark.django_db
def test_entered_in_error_is_shown_as_such(subject_a, investigator_a):
    panel = lab_panel_for(subject_a, by=investigator_a)
    record_mark_entered_in_error(panel, user=investigator_a, reason="wrong patient's sample")
    newest = AuditTrail(AuditScope(subject=subject_a, form="Lab panel")).page(1).events[0]
    assert newest.kind == "entered in error"
    assert newest.reason == "entered in error: wrong patient's sample"


@pytest.mark.django_db
def test_pages_across_tables_follow_one_time_order(subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    for kg in ("70", "71"):
        baseline.weight_kg = Decimal(kg)
        baseline = record_save(baseline, user=investigator_a, reason=f"weight {kg}")
    lab_panel_for(subject_a, by=investigator_a)
    trail = AuditTrail(AuditScope(subject=subject_a))
    everything = list(trail)
    assert len(everything) > 6
    paged, page = [], trail.page(3)
    while True:
        paged += page.events
        if page.older is None:
            break
        page = trail.page(3, after=page.older)
    assert [(e.record, e.at) for e in paged] == [(e.record, e.at) for e in everything]
    times = [e.at for e in everything]
    assert times == sorted(times, reverse=True)


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.django_db
def test_study_csv_names_subject_and_site_and_neutralises_formulas(client, two_sites):
    subject_a, _ = two_sites
    baseline = Baseline.objects.get(subject=subject_a)
    baseline.weight_kg = Decimal("66")
    record_save(baseline, user=baseline.created_by, reason="@SUM(A1)")
    client.force_login(user_with_role(Role.DATA_MANAGER))
    response = client.get(reverse(URL), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    change = next(r for r in rows if r["reason"] == "'@SUM(A1)")
    assert (change["subject"], change["site"], change["field"], change["new_value"]) == (
        subject_a.study_id,
        "1",
        "Weight (kg)",
        "66",
    )
    assert change["record"] == "Baseline"  # named, not "Baseline #3"
    assert any(r["form"] == "Account" and r["user"] == "nobody.known" for r in rows)


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_sponsors_have_no_audit_trail_page(client):
    client.force_login(user_with_role(Role.SPONSOR))
    assert client.get(reverse(URL)).status_code == 403


@pytest.mark.verifies("UR-EXP-01")
@pytest.mark.django_db
def test_exports_appear_in_the_trail_with_their_sites_and_hash(
    client, settings, tmp_path, two_sites, investigator_a, django_capture_on_commit_callbacks
):
    from exports.services import export_request
    from exports.tasks import run_export

    settings.EXPORT_ROOT = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=False):
        export = export_request(user=investigator_a)
    run_export(export.pk)
    export.refresh_from_db()
    client.force_login(user_with_role(Role.DATA_MANAGER))
    events = _events(client.get(reverse(URL), {"form": "Export"}))
    assert [(e.user, e.record, e.kind) for e in events] == [
        ("inv.a", f"Export #{export.pk} (CSV files (ZIP) with data dictionary)", "done")
    ]
    changes = {c.field: c.new for c in events[0].changes}
    assert changes["sites"] == "1" and changes["SHA-256"] == export.sha256
    client.force_login(user_with_role(Role.MONITOR, two_sites[1].site))
    assert _events(client.get(reverse(URL), {"form": "Export"})) == []  # site 2 sees no site 1
