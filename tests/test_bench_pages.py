"""The pure parts of `make bench-pages` (bench/pages.py): its page list and its figures."""

import datetime

import pytest
from django.template.loader import render_to_string

from bench import pages
from monitoring.audit_review import Position, TrailPage

pytestmark = pytest.mark.verifies("UR-OPS-01")

BRIEFED = {
    "start page", "subject list", "casebook", "lab page", "infusion page", "MRD subject page",
    "MRD worklist", "alert inbox", "subject audit trail", "study audit trail",
    "study audit trail, page 50", "SDV overview", "queries", "locks", "exports list", "reports",
    "report JSON", "login POST",
}  # fmt: skip


def test_every_role_logs_in_and_has_its_start_page_and_login_measured():
    roles = {"investigator", "central lab", "monitor", "data manager", "sponsor"}
    assert set(pages.ROLES) == roles
    assert set(pages.PAGES) == roles
    for role, work in pages.PAGES.items():
        names = [name for name, _ in work]
        assert pages.START in names and pages.LOGIN in names, role
        assert len(names) == len(set(names)), role


def test_the_page_list_covers_every_page_of_the_target():
    measured = {name for work in pages.PAGES.values() for name, _ in work}
    assert measured == BRIEFED
    urls = {url for work in pages.PAGES.values() for _, url in work}
    assert "/audit-trail/{page_50}" in urls  # a deep page of the study audit trail
    assert pages.DEEP_PAGE == 50
    assert all(url.startswith("/") for url in urls)


@pytest.mark.verifies("UR-OPS-03")
def test_the_deep_page_is_reached_by_the_trails_older_link():
    older = Position(datetime.datetime(2026, 3, 14, 9, tzinfo=datetime.UTC), 3, 1234)
    links = render_to_string(
        "monitoring/_trail_pages.html",
        {"page": TrailPage([], older=older, newest=False), "query": "form=Baseline&user=a"},
    )
    assert pages.older_link(links) == f"?form=Baseline&user=a&after={older.token()}"
    newest = render_to_string("monitoring/_trail_pages.html", {"page": TrailPage([])})
    assert pages.older_link(newest) is None


def test_median_p95_and_ratio_to_healthz():
    row = pages.summarise(
        "casebook", "investigator", "/subjects/1-00001/", [40, 10, 30, 20, 100], 5
    )
    assert row.median_ms == 30
    assert round(row.p95_ms, 6) == 88  # between the two slowest: 40 + 0.8 x (100 - 40)
    assert row.ratio == 6
    assert row.meets_target
    assert pages.summarise("reports", "sponsor", "/reports/", [50, 50, 51], 5).ratio == 10
    assert pages.summarise("reports", "sponsor", "/reports/", [50, 50, 51], 5).meets_target
    assert not pages.summarise("reports", "sponsor", "/reports/", [51, 51, 51], 5).meets_target


def test_table_names_each_page_and_those_over_the_target():
    rows = [
        pages.summarise("/healthz", "anyone", "/healthz", [9, 10, 11], 10),
        pages.summarise("reports", "sponsor", "/reports/", [500, 550, 600], 10),
        pages.summarise("locks", "data manager", "/locks/", [12, 14, 20], 10),
    ]
    table = pages.format_table(rows, 10).splitlines()
    assert table[0].split() == [
        "page", "role", "median", "ms", "p95", "ms", "x", "healthz", "target",
    ]  # fmt: skip
    assert table[3].split() == ["reports", "sponsor", "550", "595", "55.0", "NOT", "met"]
    assert table[4].split() == ["locks", "data", "manager", "14", "19", "1.4", "met"]
    assert table[-1] == (
        "Target: every page's median <= 10 x /healthz's median (10.0 ms, so <= 100 ms): "
        "NOT met by 1: reports (sponsor)"
    )
