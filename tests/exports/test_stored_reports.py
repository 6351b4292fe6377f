"""Study reports computed once per data version: the worker computes and stores the report of
each scope; the pages read it, say as of when, and say when the data changed since."""

import json
import re

import pytest
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone

from crf.models import Role
from exports import report_plots, stored_reports, tasks
from exports import reports as report_selectors
from exports.models import StoredReport
from exports.report_sections import SECTIONS
from protocol import reports as protocol_reports
from tests.alerts.worker import Worker, wait_for
from tests.exports.test_reports import NEGATIVE, _w11
from tests.factories import baseline_for, enrol, user_with_role

pytestmark = pytest.mark.verifies("UR-REP-01")

PAGE = reverse("exports:report")
JSON = reverse("exports:report_json")


@pytest.fixture
def counted(monkeypatch):
    """How often the report was computed (exports.reports.study_report, which runs lifelines)
    and drawn (report_plots.plot_bytes, matplotlib), by whom ever."""
    calls = {"study_report": 0, "plot_bytes": 0}

    def counting(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(report_selectors, "study_report")
    counting(report_plots, "plot_bytes")
    return calls


def _stored(sites, period="infusion"):
    stored, _ = StoredReport.objects.get_or_create(
        site_numbers=stored_reports.scope_key(s.number for s in sites), period=period, freeze=None
    )
    return stored_reports.compute(stored)


def _enrolled(client) -> int:
    return client.get(JSON).json()["flow"]["enrolled"]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.mark.django_db
def test_the_stored_report_is_the_report_computed_on_request(client, report_study, data_manager):
    _stored(report_study)
    client.force_login(data_manager)
    page = client.get(PAGE).content.decode()
    data = client.get(JSON).json()
    fresh = report_selectors.study_report(report_study)
    # The JSON, as the page wrote it before reports were stored.
    expected = json.loads(json.dumps(protocol_reports.report_json(fresh), cls=DjangoJSONEncoder))
    assert {
        k: v for k, v in data.items() if k not in ("sites", "computed_at", "being_updated", "data")
    } == {k: v for k, v in expected.items() if k in data}
    assert set(expected) - set(data) <= {"counts_only"}  # null: not withheld
    # Every section's text and every plot, as the section templates draw the fresh report.
    sections = stored_reports.sections_html(fresh)
    for slug in SECTIONS:
        section = sections[slug]
        assert _text(section) in _text(page), slug
        for name in SECTIONS[slug][2]:
            assert report_plots.inline_svg(fresh, name) in page, name
    svg = client.get(reverse("exports:report_plot", args=["os", "svg"])).content
    assert svg == report_plots.plot_bytes(fresh, "os", "svg")


@pytest.mark.django_db
def test_a_save_makes_it_stale_and_the_worker_task_recomputes_it(
    client, report_study, site_a, investigator_a, data_manager, counted, monkeypatch
):
    _stored(report_study)
    client.force_login(data_manager)
    page = client.get(PAGE).content.decode()
    assert 'id="report-as-of"' in page and 'id="report-stale"' not in page
    stored = StoredReport.objects.get()
    as_of = dateformat.format(timezone.localtime(stored.computed_at), "Y-m-d H:i T")
    assert f"Live data as of {as_of}" in page and as_of.endswith(("CET", "CEST"))
    assert _enrolled(client) == 6
    counted.update(study_report=0, plot_bytes=0)

    enrol(site_a, by=investigator_a)  # through the write pipeline's enrolment

    page = client.get(PAGE).content.decode()
    assert 'id="report-stale"' in page and "being updated" in page
    data = client.get(JSON).json()
    assert data["flow"]["enrolled"] == 6 and data["being_updated"] is True  # as it was
    assert counted == {"study_report": 0, "plot_bytes": 0}  # the request computed nothing

    # The worker's task after the save, run here: computed seconds ago, so once that time is up.
    later = []
    monkeypatch.setattr(
        tasks.recompute_stale_reports, "apply_async", lambda **kw: later.append(kw["countdown"])
    )
    assert tasks.recompute_stale_reports() == 0
    assert len(later) == 1 and 0 < later[0] <= stored_reports.RECOMPUTE_AT_MOST_EVERY
    assert 'id="report-stale"' in client.get(PAGE).content.decode()
    assert tasks.recompute_stale_reports(after_save=False) == 1  # then (or the beat's run)
    assert tasks.recompute_stale_reports(after_save=False) == 0  # current now: nothing to do
    page = client.get(PAGE).content.decode()
    assert 'id="report-stale"' not in page
    data = client.get(JSON).json()
    assert data["flow"]["enrolled"] == 7 and data["being_updated"] is False


@pytest.mark.django_db
def test_an_mrd_result_makes_the_report_of_its_site_stale_only(
    client, report_study, site_a, site_b, investigator_a, data_manager
):
    subject = site_a.subjects.order_by("sequence").first()
    whole, site_2 = _stored(report_study), _stored([site_b])
    assert not stored_reports.is_stale(whole) and not stored_reports.is_stale(site_2)
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    _w11(subject, investigator_a, lab, ("qpcr", *NEGATIVE))  # sample and result: the pipeline
    assert stored_reports.is_stale(StoredReport.objects.get(pk=whole.pk))
    assert not stored_reports.is_stale(StoredReport.objects.get(pk=site_2.pk))


@pytest.mark.django_db
def test_a_rolled_back_save_leaves_it_current(
    client, report_study, site_a, investigator_a, data_manager, django_capture_on_commit_callbacks
):
    stored = _stored(report_study)
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            enrol(site_a, by=investigator_a)
            raise RuntimeError("the save fails after the enrolment")
    assert callbacks == []  # nothing enqueued
    assert not stored_reports.is_stale(StoredReport.objects.get(pk=stored.pk))
    client.force_login(data_manager)
    assert 'id="report-stale"' not in client.get(PAGE).content.decode()
    assert _enrolled(client) == 6


@pytest.mark.django_db
def test_without_a_stored_report_the_page_asks_once_and_says_it_is_being_computed(
    client, report_study, data_manager, counted, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(stored_reports, "enqueue_compute", enqueued.append)
    client.force_login(data_manager)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(PAGE)
    body = page.content.decode()
    assert page.status_code == 200 and 'id="report-pending"' in body
    assert "being computed" in body and '<meta http-equiv="refresh" content="5">' in body
    with django_capture_on_commit_callbacks(execute=True):
        data = client.get(JSON)
        plot = client.get(reverse("exports:report_plot", args=["os", "png"]))
        again = client.get(reverse("exports:report_section", args=["flow"]))
    assert data.status_code == 202 and data["Retry-After"] == "5"
    assert data.json()["status"] == "being computed"
    assert plot.status_code == 202
    assert 'id="report-pending"' in again.content.decode()
    stored = StoredReport.objects.get()
    assert enqueued == [stored.pk]  # once, however many requests
    assert counted == {"study_report": 0, "plot_bytes": 0}
    assert stored.computed_at is None
    tasks.compute_report(stored.pk)  # the worker's task, run here
    assert counted["study_report"] == 1
    assert 'id="report-as-of"' in client.get(PAGE).content.decode()


@pytest.mark.django_db
def test_a_site_scoped_report_is_stored_apart(client, report_study, site_a, investigator_a):
    _stored(report_study)
    _stored([site_a])
    client.force_login(investigator_a)  # reaches site 1 only
    data = client.get(JSON).json()
    assert data["sites"] == [1] and data["flow"]["enrolled"] == 4


@pytest.mark.django_db
def test_the_demo_loader_computes_the_demo_reports(db, client):
    call_command("load_demo_study", "--password", "demo-password-1", "--force")
    assert StoredReport.objects.filter(site_numbers="1,2,3,4", computed_at__isnull=False).exists()
    assert not any(stored_reports.is_stale(s) for s in StoredReport.objects.all())
    client.force_login(user_with_role(Role.SPONSOR, None, username="sp"))
    assert 'id="report-as-of"' in client.get(PAGE).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_computes_the_report_and_recomputes_it_after_a_save(
    client, site_a, investigator_a
):
    for i in range(5):
        baseline_for(enrol(site_a, by=investigator_a), by=investigator_a, year_of_birth=1980 + i)
    worker = Worker().start()
    try:
        client.force_login(investigator_a)
        assert 'id="report-pending"' in client.get(PAGE).content.decode()
        wait_for(lambda: StoredReport.objects.filter(computed_at__isnull=False).first(), 90)
        page = client.get(PAGE).content.decode()
        assert 'id="report-as-of"' in page and 'id="report-stale"' not in page
        assert _enrolled(client) == 5

        enrol(site_a, by=investigator_a)  # committed: its message reaches the worker

        wait_for(lambda: not stored_reports.is_stale(StoredReport.objects.get()), 90)
    finally:
        worker.stop()
    assert _enrolled(client) == 6
    assert 'id="report-stale"' not in client.get(PAGE).content.decode()


@pytest.mark.django_db
def test_a_write_outside_the_pipeline_makes_it_stale_too(
    client, report_study, site_a, data_manager
):
    """A site renamed (its name is in the enrolment section) is saved by audited_save alone."""
    from audit.services import audited_save

    stored = _stored(report_study)
    site_a.city = "Praha"
    audited_save(site_a, user=data_manager, reason="the site's city as the hospital writes it")
    assert stored_reports.is_stale(StoredReport.objects.get(pk=stored.pk))
    tasks.recompute_stale_reports(after_save=False)
    client.force_login(data_manager)
    data = client.get(JSON).json()
    assert "Praha" in json.dumps(data["enrolment"], ensure_ascii=False)
    assert data["being_updated"] is False


@pytest.mark.django_db(transaction=True)
def test_a_page_does_not_wait_for_a_worker_computing_its_report(
    client, report_study, site_a, investigator_a, data_manager
):
    """While a worker holds the stored report (computing it), the stale page answers at once."""
    import threading
    import time

    from django.db import connections

    stored = _stored(report_study)
    enrol(site_a, by=investigator_a)
    StoredReport.objects.filter(pk=stored.pk).update(requested_at=None)
    locked, release = threading.Event(), threading.Event()

    def worker_at_it():
        with transaction.atomic():
            StoredReport.objects.select_for_update().get(pk=stored.pk)
            locked.set()
            release.wait(20)
        connections.close_all()

    holder = threading.Thread(target=worker_at_it)
    holder.start()
    try:
        assert locked.wait(10)
        client.force_login(data_manager)
        started = time.monotonic()
        page = client.get(PAGE).content.decode()
        assert time.monotonic() - started < 5
        assert 'id="report-stale"' in page
    finally:
        release.set()
        holder.join(20)


@pytest.mark.django_db
@pytest.mark.verifies("UR-REP-02")
def test_a_report_stored_without_table_2_s_publication_rows_is_computed_again(report_study):
    stored = _stored(report_study)
    assert not stored_reports.is_stale(stored)
    # as an earlier version stored it: no footnote rows of Table 2
    del stored.sections["adverse-events:publication"]
    stored.save()
    assert stored_reports.is_stale(stored)
    assert stored_reports.compute_if_stale(stored.pk) is True
    stored.refresh_from_db()
    assert "adverse-events:publication" in stored.sections
    assert not stored_reports.is_stale(stored)
