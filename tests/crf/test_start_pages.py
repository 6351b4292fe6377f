"""The start page per role: each role the user holds has its block with that role's work at that
role's sites, each a count linking to the list that shows it."""

import datetime
import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.services import subject_evaluate
from crf.models import Role
from crf.services import membership_grant
from exports.services import export_request
from monitoring.locks import lock_create
from monitoring.models import Lock
from monitoring.queries import query_answer, query_open
from monitoring.sdv import record_verify
from mrd.models import MrdResult, MrdUpload
from mrd.services import result_save, sample_record
from mrd.upload import upload_receive
from tests.factories import UserFactory, baseline_for, enrol, serious_ae_for, user_with_role
from tests.mrd.test_upload import _csv, _row

pytestmark = pytest.mark.verifies("UR-ACC-01", "UR-ACC-02")


def _page(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _block(page: str, role: str) -> str:
    start = page.index(f'id="start-{role}"')
    return page[start : page.index("</section>", start)]


def _item(block: str, label: str) -> tuple[int | None, str]:
    """(count, link) of the item with this label in a block."""
    found = re.search(
        r'<a href="([^"]+)">(?:<span class="[^"]*start-count">(\d+)</span>)?' + re.escape(label),
        block,
    )
    assert found, f"no item {label!r} in {block}"
    return (int(found.group(2)) if found.group(2) else None), found.group(1)


def _count(client, user, role, label) -> int:
    return _item(_block(_page(client, user), role), label)[0]


@pytest.mark.verifies("AL-VISIT-OVERDUE", "SA-1")
@pytest.mark.django_db
def test_investigator_sees_overdue_visits_alerts_queries_and_sae_clocks(
    client, site_a, investigator_a
):
    day1 = timezone.localdate() - datetime.timedelta(days=60)
    subject = enrol(site_a, by=investigator_a, day1_date=day1)
    baseline = baseline_for(subject, by=investigator_a)
    monitor = user_with_role(Role.MONITOR, site_a)
    query_open(record=baseline, field_name="weight_kg", text="57 kg?", user=monitor)
    answered = query_open(record=baseline, field_name="sex", text="Sex?", user=monitor)
    query_answer(query=answered, text="F per source", user=investigator_a)
    aware = timezone.now() - datetime.timedelta(hours=2)
    serious_ae_for(subject, by=investigator_a, awareness_at=aware)
    subject_evaluate(subject.pk)
    overdue = Alert.objects.filter(rule="AL-VISIT-OVERDUE", status__in=Alert.ACTIVE).count()
    assert overdue >= 1

    page = _page(client, investigator_a)
    block = _block(page, "investigator")
    assert "site 1 Prague" in block
    count, link = _item(block, "Overdue visits")
    assert count == overdue
    assert link == reverse("alerts:inbox") + "?rule=AL-VISIT-OVERDUE&site=1"
    listed = client.get(link).context["page"].paginator.count
    assert listed == overdue
    count, link = _item(block, "Open alerts")
    assert count == Alert.objects.filter(status=Alert.Status.OPEN).count() and count >= overdue
    assert _item(block, "Open queries to answer") == (
        1,
        reverse("monitoring:query_list") + f"?status=open&site={site_a.pk}",
    )
    assert _item(block, "SAE reports to the sponsor: clocks running") == (1, reverse("safety:sae"))
    assert "reports due within 24 hours" in block
    # No other role's block for an investigator.
    assert page.count('class="card mb-3 start-block"') == 1


@pytest.mark.django_db
def test_a_user_with_roles_at_two_sites_sees_each_block_scoped_to_its_sites(
    client, site_a, site_b, investigator_a, investigator_b
):
    subject_a = enrol(site_a, by=investigator_a)
    subject_b = enrol(site_b, by=investigator_b)
    baseline_a = baseline_for(subject_a, by=investigator_a)
    baseline_b = baseline_for(subject_b, by=investigator_b)
    # One person: investigator at site 1, monitor at site 2.
    person = user_with_role(Role.INVESTIGATOR, site_a, username="both")
    membership_grant(user=person, role=Role.MONITOR, site=site_b, granted_by=None)
    monitor_a = user_with_role(Role.MONITOR, site_a)
    for n in range(2):
        query_open(record=baseline_a, text=f"Site 1 question {n}", user=monitor_a)
    on_b = query_open(record=baseline_b, field_name="sex", text="Sex?", user=person)
    query_answer(query=on_b, text="F per source", user=investigator_b)
    query_open(record=baseline_b, field_name="weight_kg", text="Weight?", user=person)
    record_verify(record=baseline_b, user=person, fields=["height_cm"])

    page = _page(client, person)
    investigator = _block(page, "investigator")
    monitor = _block(page, "monitor")
    assert "site 1 Prague" in investigator and "Brno" not in investigator
    assert "site 2 Brno" in monitor and "Prague" not in monitor
    assert _item(investigator, "Open queries to answer")[0] == 2  # site 1's, not site 2's
    assert _item(monitor, "Answered queries to review and close") == (
        1,
        reverse("monitoring:query_list") + f"?status=answered&site={site_b.pk}",
    )
    assert _item(monitor, "Open queries waiting for the site")[0] == 1
    # Site 2's records: the subject, its screening... all of them, none verified whole.
    to_verify, link = _item(monitor, "Records not yet source-verified")
    assert link == reverse("monitoring:sdv_overview") + f"?site={site_b.pk}"
    overview = client.get(link).context["sites"]
    assert to_verify == sum(p.total - p.verified for _, p in overview) > 0
    assert _item(monitor, "Records changed after verification")[0] == 0

    from crf.services import record_save

    baseline_b.height_cm = Decimal("171.0")
    record_save(baseline_b, user=investigator_b, reason="measured again")
    assert _count(client, person, "monitor", "Records changed after verification") == 1


@pytest.mark.django_db
def test_central_lab_is_led_to_the_worklist_and_its_files_awaiting_commit(
    client, subject_a, investigator_a
):
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    first = sample_record(subject=subject_a, timepoint="D40", material="bone_marrow",
                          sampled_on=datetime.date(2026, 4, 10), user=investigator_a)  # fmt: skip
    sample_record(subject=subject_a, timepoint="W11", material="bone_marrow",
                  sampled_on=datetime.date(2026, 5, 12), user=investigator_a)  # fmt: skip
    block = _block(_page(client, lab), "central_lab")
    assert "all sites" in block
    assert _item(block, "Samples awaiting an MRD result (worklist)") == (2, reverse("mrd:worklist"))
    assert _item(block, "Uploaded files checked and awaiting commit") == (0, reverse("mrd:upload"))

    result_save(
        MrdResult(sample=first, method="qpcr", result_class="negative",
                  report_date=datetime.date(2026, 4, 20), sensitivity=Decimal("1E-5")),
        user=lab,
    )  # fmt: skip
    content = _csv([_row(first.accession, method="ngs")])
    received = upload_receive(filename="batch.csv", raw=content, user=lab)
    assert received.status == MrdUpload.Status.READY, received.preview
    block = _block(_page(client, lab), "central_lab")
    assert _item(block, "Samples awaiting an MRD result (worklist)")[0] == 1
    assert _item(block, "Uploaded files checked and awaiting commit")[0] == 1


@pytest.mark.django_db
def test_data_manager_sees_locks_exports_and_a_place_for_further_links(
    client, subject_a, investigator_a, django_capture_on_commit_callbacks
):
    manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
    lock_create(level=Lock.Level.SUBJECT, subject=subject_a, reason="interim", user=manager)
    with django_capture_on_commit_callbacks(execute=False):
        export_request(user=manager, format="odm")
    page = _page(client, manager)
    block = _block(page, "data_manager")
    assert _item(block, "Active locks") == (1, reverse("monitoring:locks"))
    assert _item(block, "Exports queued or running") == (1, reverse("exports:list"))
    assert _item(block, "Exports that failed")[0] == 0
    assert _item(block, "Answered queries to review and close")[0] == 0
    assert 'id="data-manager-more"' in block
    for href in re.findall(r'href="([^"?]+)', block):  # every link leads to a page
        assert client.get(href, follow=True).status_code == 200, href


@pytest.mark.django_db
def test_only_the_data_manager_is_led_to_the_laboratory_reference_ranges(
    client, site_a, site_b, subject_a, investigator_a
):
    link = f'<a href="{reverse("safety:lab_ranges")}">Laboratory reference ranges</a>'
    manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
    more = _block(_page(client, manager), "data_manager")
    more = more[more.index('id="data-manager-more"') :]
    assert link in more
    ranges = client.get(reverse("safety:lab_ranges"))
    assert ranges.status_code == 200
    assert "Prague" in ranges.content.decode() and "Brno" in ranges.content.decode()
    others = [
        investigator_a,
        user_with_role(Role.MONITOR, site_a, username="mon"),
        user_with_role(Role.CENTRAL_LAB, None, username="lab"),
        user_with_role(Role.SPONSOR, None, username="sponsor"),
    ]
    for user in others:
        page = _page(client, user)
        assert "Laboratory reference ranges</a>" not in page.split("</nav>", 1)[-1], user


@pytest.mark.django_db
def test_sponsor_sees_reports_and_exports(client, subject_a, investigator_a):
    sponsor = user_with_role(Role.SPONSOR, None, username="sponsor")
    serious_ae_for(subject_a, by=investigator_a, susar=True,
                   sponsor_awareness_date=datetime.date(2026, 3, 16))  # fmt: skip
    page = _page(client, sponsor)
    block = _block(page, "sponsor")
    assert _item(block, "Study report") == (None, reverse("exports:report"))
    assert _item(block, "SUSARs with a reporting due date") == (1, reverse("safety:sae"))
    assert _item(block, "Complete exports to download") == (0, reverse("exports:list"))
    assert 'id="start-investigator"' not in page and 'id="start-monitor"' not in page


@pytest.mark.django_db
def test_no_role_no_block(client):
    page = _page(client, UserFactory())
    assert "You hold no study role yet" in page


@pytest.mark.django_db
def test_the_start_page_reads_few_queries_for_every_role(
    client, site_a, subject_a, investigator_a, django_assert_max_num_queries
):
    person = user_with_role(Role.INVESTIGATOR, site_a, username="all")
    membership_grant(user=person, role=Role.MONITOR, site=site_a, granted_by=None)
    for role in (Role.CENTRAL_LAB, Role.DATA_MANAGER, Role.SPONSOR):
        membership_grant(user=person, role=role, site=None, granted_by=None)
    baseline_for(subject_a, by=investigator_a)
    client.force_login(person)
    client.get(reverse("home"))
    with django_assert_max_num_queries(30):  # every role's block, a few counts each
        page = html.unescape(client.get(reverse("home")).content.decode())
    for role in ("investigator", "central_lab", "monitor", "data_manager", "sponsor"):
        assert f'id="start-{role}"' in page
