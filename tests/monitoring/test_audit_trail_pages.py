"""The audit trail's pages: Older and Newer links that walk the whole trail (none skipped or
repeated, also where many changes share one time), filters kept, any page as cheap as the
first, and a link that cannot be followed answered with the newest page."""

import base64
import html
import itertools
import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import simple_history.models
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.roles import STAMP_TRIGGER
from crf.models import Baseline, Role
from crf.services import record_save
from monitoring import views
from monitoring.audit_review import AuditScope, AuditTrail, Position
from safety.models import LabPanel, LabValue
from tests.factories import baseline_for, lab_panel_for, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-MON-01", "UR-OPS-03")]


def _link(response, label: str) -> str | None:
    """The href of the page link named `label` ("Older", "Newer", "Newest"), as a browser
    would follow it."""
    body = response.content.decode()
    for href, text in re.findall(r'<a class="page-link"[^>]*href="([^"]*)">(.*?)</a>', body):
        if re.sub(r"<[^>]*>.*?</[^>]*>", "", text).strip() == label:
            return html.unescape(href)
    return None


def _corrections(baseline, user, n, start=0):
    for i in range(start, start + n):
        baseline.weight_kg = Decimal(60 + i % 40)
        baseline = record_save(baseline, user=user, reason=f"correction {i}")
    return baseline


def _walk(client, url, first: str, label: str) -> list[list]:
    """Each page's events, following the link `label` from `first` to the last page."""
    pages, href = [], first
    while href is not None:
        response = client.get(href if href.startswith("/") else url + href)
        assert response.status_code == 200
        pages.append(response.context["page"].events)
        href = _link(response, label)
        assert len(pages) < 100
    return pages


@contextmanager
def _history_times_as_saved(*models):
    """The history rows of `models` keep the time they are saved with (the database stamps
    its own clock's otherwise), within the test's transaction."""
    tables = [model.history.model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks: tables can alter
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{STAMP_TRIGGER}"')
        yield
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{STAMP_TRIGGER}"')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def same_time_history(subject_a, investigator_a):
    """A subject whose changes to its baseline, lab panels and lab values were saved at two
    instants only, one second apart (two in three at the later one)."""
    instant = timezone.now().replace(microsecond=0) - timedelta(days=1)
    ticks = itertools.count()
    clock = SimpleNamespace(now=lambda: instant - timedelta(seconds=next(ticks) % 3 // 2))
    with (
        pytest.MonkeyPatch.context() as patch,
        _history_times_as_saved(Baseline, LabPanel, LabValue),
    ):
        patch.setattr(simple_history.models, "timezone", clock)  # the history rows' time
        _corrections(baseline_for(subject_a, by=investigator_a), investigator_a, 12)
        lab_panel_for(subject_a, by=investigator_a)
        lab_panel_for(subject_a, by=investigator_a, days=20)
    return instant


def test_older_then_newer_walks_every_change_once_where_many_share_a_time(
    client, monkeypatch, subject_a, investigator_a, same_time_history
):
    monkeypatch.setattr(views, "PER_PAGE", 4)
    client.force_login(investigator_a)
    url = reverse("monitoring:subject_audit", args=[subject_a.study_id])
    everything = list(AuditTrail(AuditScope(subject=subject_a)))  # the CSV's order
    at_once = [e for e in everything if e.at == same_time_history]
    assert len(at_once) > 8  # more than two pages share one time
    assert {e.form for e in at_once} >= {"Baseline", "Lab panel", "Lab value"}

    older = _walk(client, url, url, "Older")
    assert [e for page in older for e in page] == everything
    assert all(len(page) == 4 for page in older[:-1])
    # back from the oldest page to the newest, page by page: the same pages
    last = client.get(url + _link(client.get(url), "Older"))
    for _ in range(len(older) - 2):
        last = client.get(url + _link(last, "Older"))
    assert last.context["page"].events == older[-1]
    newer = _walk(client, url, url + _link(last, "Newer"), "Newer")
    assert newer == older[-2::-1]
    assert _link(client.get(url), "Newer") is None  # the newest page: nothing newer


def test_the_study_trail_walks_across_sites_and_tables_at_one_time(
    client, monkeypatch, subject_a, same_time_history
):
    monkeypatch.setattr(views, "PER_PAGE", 5)
    client.force_login(user_with_role(Role.DATA_MANAGER))
    url = reverse("monitoring:study_audit")
    pages = _walk(client, url, url, "Older")
    walked = [e for page in pages for e in page]
    assert walked == list(AuditTrail(AuditScope()))
    assert len(pages) > 3


def test_filters_are_kept_from_page_to_page(client, monkeypatch, subject_a, investigator_a):
    _corrections(baseline_for(subject_a, by=investigator_a), investigator_a, 9)
    lab_panel_for(subject_a, by=investigator_a)  # newer, and filtered out
    monkeypatch.setattr(views, "PER_PAGE", 4)
    client.force_login(user_with_role(Role.MONITOR, subject_a.site))
    url = reverse("monitoring:subject_audit", args=[subject_a.study_id])
    first = client.get(url, {"form": "Baseline", "user": investigator_a.username})
    href = _link(first, "Older")
    assert "form=Baseline" in href and f"user={investigator_a.username}" in href
    pages = _walk(client, url, url + href, "Older")
    shown = [*first.context["page"].events, *(e for page in pages for e in page)]
    assert {e.form for e in shown} == {"Baseline"}
    assert [e.reason for e in shown if e.kind == "changed"] == [
        f"correction {i}" for i in range(8, -1, -1)
    ]
    second = client.get(url + href)
    assert "form=Baseline" in _link(second, "Newer")
    assert _link(second, "Newest") == f"?form=Baseline&user={investigator_a.username}"
    export = re.search(r'href="\?([^"]*)">Export CSV', second.content.decode()).group(1)
    assert html.unescape(export) == f"form=Baseline&user={investigator_a.username}&format=csv"


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "params",
    [
        {"after": "not a page"},
        {"before": "%%%"},
        {"after": ""},
        {"after": _token("99999999999999999999999.1.1")},  # a time beyond the calendar
        {"after": _token("1.2.345678901234567890123456789")},  # a key beyond bigint
        {"before": _token("1.2.-3")},
        {"before": _token("1.2")},
        {"before": "x" * 5000},
        {"page": "7"},
        {"page": "last"},
    ],
)
def test_a_link_that_cannot_be_followed_shows_the_newest_page(
    client, subject_a, investigator_a, params
):
    _corrections(baseline_for(subject_a, by=investigator_a), investigator_a, 3)
    client.force_login(investigator_a)
    for url in (
        reverse("monitoring:subject_audit", args=[subject_a.study_id]),
        reverse("monitoring:study_audit"),
    ):
        response = client.get(url, params)
        assert response.status_code == 200
        assert "showing the newest changes" in response.content.decode()
        page = response.context["page"]
        assert page.newest and page.events == client.get(url).context["page"].events
        assert any(e.reason == "correction 2" for e in page.events)


def test_page_one_and_no_cursor_open_the_newest_page_without_a_notice(
    client, subject_a, investigator_a
):
    client.force_login(investigator_a)
    url = reverse("monitoring:subject_audit", args=[subject_a.study_id])
    for params in ({}, {"page": "1"}, {"page": ""}):
        response = client.get(url, params)
        assert response.context["page"].newest and not response.context["notice"]
        assert "showing the newest changes" not in response.content.decode()


def test_a_token_names_a_position_and_nothing_else():
    at = timezone.now()
    position = Position(at, 3, 1234)
    assert Position.from_token(position.token()) == position
    assert Position.from_token("") is None
    assert Position.from_token(_token("1.2.3.4")) is None


@pytest.mark.parametrize("url_name", ["monitoring:subject_audit", "monitoring:study_audit"])
def test_a_deep_page_reads_as_few_queries_as_the_first(client, subject_a, investigator_a, url_name):
    _corrections(baseline_for(subject_a, by=investigator_a), investigator_a, 260)
    client.force_login(user_with_role(Role.MONITOR, subject_a.site))
    args = [subject_a.study_id] if url_name == "monitoring:subject_audit" else []
    url = reverse(url_name, args=args)
    query = {"form": "Baseline"}
    client.get(url, query)
    with CaptureQueriesContext(connection) as first:
        response = client.get(url, query)
    href = _link(response, "Older")
    for _ in range(3):
        href = _link(client.get(url + href), "Older")
    client.get(url + href)
    with CaptureQueriesContext(connection) as deep:
        response = client.get(url + href)
    events = response.context["page"].events
    assert len(events) == 50 and events[0].reason == "correction 59"  # page 5
    assert len(deep.captured_queries) == len(first.captured_queries)
    # nothing counted, nothing skipped over: each table gives at most a page and one more row
    reads = [q["sql"] for q in deep.captured_queries if "_historical" in q["sql"]]
    assert not any(" OFFSET " in sql or "COUNT(" in sql for sql in reads)
    assert any("LIMIT 51" in sql for sql in reads)
