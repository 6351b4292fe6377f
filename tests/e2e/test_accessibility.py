"""WCAG 2.1 A and AA, checked with axe-core in a real browser: a tour of every page of each
role's work on the demo study, and the navigation on one line at 1366 px."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from playwright.sync_api import expect

from alerts.services import all_subjects_evaluate
from demo.management.commands.load_demo_study import USERS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-OPS-03"),
]

PASSWORD = "demo-study-password-2026"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORT = {"width": 1366, "height": 768}

# Not pages (files, downloads, logging out, the Django admin) or pages of another kind.
SKIPPED = re.compile(
    r"^/(static|admin)/|/accounts/logout/|/keepalive/|/download/|\.(csv|json|png|svg|zip|xml)$"
)
# What each role's tour must reach (path shapes, see _shape): the pages of the role's work.
REQUIRED = {
    "investigator.prague": [
        "/", "/subjects/", "/subjects/enrol/", "/subjects/S/", "/subjects/S/records/baseline/N/",
        "/subjects/S/records/visit/N/", "/subjects/S/infusion/", "/subjects/S/labs/",
        "/subjects/S/adverse-events/new/", "/subjects/S/mrd/", "/alerts/", "/alerts/N/",
        "/audit-trail/", "/exports/", "/reports/", "/no-such-page/",
    ],
    "centrallab": ["/", "/mrd/worklist/", "/mrd/samples/A/M/", "/mrd/upload/", "/alerts/"],
    "monitor": [
        "/", "/subjects/S/", "/queries/", "/subjects/S/review/", "/sdv/", "/audit-trail/",
        "/subjects/S/records/N/N/review/",
    ],
    "datamanager": ["/", "/locks/", "/exports/", "/reports/", "/queries/", "/sdv/", "/closeout/"],
    "sponsor": ["/", "/reports/", "/exports/"],
}  # fmt: skip
ROLE_USERS = list(REQUIRED)
# 1-01 is the demo's full story (every kind of record, queries, a signature): its pages first.
FULL_STORY = "/subjects/1-01/"
NOT_FOUND = "/no-such-page/"  # the project's 404 page
SEES_SUBJECTS = {"investigator.prague", "centrallab", "monitor", "datamanager"}
MAX_PAGES = 80


@pytest.fixture
def demo_study(transactional_db):
    call_command("load_demo_study", "--password", PASSWORD, "--force", verbosity=0)
    all_subjects_evaluate()  # the alerts a worker would raise


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"{username} could not log in"


def _shape(path: str) -> str:
    """A page's path with its identifiers replaced: one visit per kind of page."""
    path = re.sub(r"^/mrd/samples/[^/]+/[^/]+/", "/mrd/samples/A/M/", path)
    path = re.sub(r"/subjects/\d+-\d+/", "/subjects/S/", path)
    path = re.sub(r"/\d+(?=/)", "/N", path)
    return path


def _violations(page) -> list[str]:
    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    found = []
    for violation in results.response["violations"]:
        nodes = "\n".join(
            f"      {', '.join(map(str, node['target']))}: {' '.join(node['html'].split())[:160]}"
            for node in violation["nodes"]
        )
        found.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}\n{nodes}")
    return found


def _links(page, base_url: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    origin = urlsplit(base_url).netloc
    paths = []
    for href in hrefs:
        parts = urlsplit(urljoin(page.url, href))
        if parts.netloc == origin and not SKIPPED.search(parts.path):
            paths.append(parts.path)
    return paths


def _tour(page, base_url: str, start: list[str]) -> tuple[dict[str, str], list[str]]:
    """Every kind of page reachable by links from the start pages, each checked by axe (a page
    the role may not see shows the project's 403 page: that is checked too)."""
    visited: dict[str, str] = {}
    report: list[str] = []
    queue = [(path, "start") for path in start]
    while queue and len(visited) < MAX_PAGES:
        path, linked_from = queue.pop(0)
        if _shape(path) in visited:
            continue
        response = page.goto(f"{base_url}{path}")
        visited[_shape(path)] = path
        status = response.status if response else "?"
        found = _violations(page)
        if found:
            report.append(
                f"{path} ({page.title()}, HTTP {status}, linked from {linked_from}):\n"
                + "\n".join(found)
            )
        queue.extend((p, path) for p in _links(page, base_url) if _shape(p) not in visited)
    return visited, report


def test_the_login_page_meets_wcag_2_1_aa(wide_page, live_server, demo_study):
    wide_page.goto(f"{live_server.url}/accounts/login/")
    found = _violations(wide_page)
    assert not found, "/accounts/login/:\n" + "\n".join(found)


@pytest.mark.parametrize("username", ROLE_USERS)
def test_every_page_of_the_role_meets_wcag_2_1_aa(wide_page, live_server, demo_study, username):
    _log_in(wide_page, live_server.url, username)
    start = ([FULL_STORY] if username in SEES_SUBJECTS else []) + ["/", NOT_FOUND]
    visited, report = _tour(wide_page, live_server.url, start)
    missing = [shape for shape in REQUIRED[username] if shape not in visited]
    assert not report and not missing, (
        f"{username}: {len(report)} of {len(visited)} pages fail WCAG 2.1 AA\n"
        + "\n".join(report)
        + (f"\nthe tour did not reach {missing}; it saw {sorted(visited)}" if missing else "")
    )


@pytest.mark.parametrize("username", [*ROLE_USERS, "admin"])
def test_the_navigation_is_one_line_at_1366_px(wide_page, live_server, demo_study, username):
    assert username in {user[0] for user in USERS}
    _log_in(wide_page, live_server.url, username)
    nav = wide_page.locator("nav.navbar")
    links = nav.locator(".navbar-nav > .nav-item > .nav-link")
    tops = {round(box["y"]) for box in (links.nth(i).bounding_box() for i in range(links.count()))}
    brand = nav.locator(".navbar-brand").bounding_box()
    bar = nav.bounding_box()
    assert links.count() >= 2
    assert len(tops) == 1, f"the navigation wraps: its links start at heights {sorted(tops)}"
    # The bar is as tall as one line of it (the brand) with its padding, not two.
    assert bar["height"] < 2 * brand["height"], (bar, brand)


def test_open_menus_a_focused_skip_link_and_a_form_with_errors_meet_wcag_2_1_aa(
    wide_page, live_server, demo_study
):
    page = wide_page
    _log_in(page, live_server.url, "investigator.prague")
    page.keyboard.press("Tab")  # "Skip to main content", shown while focused
    report = [f"skip link: {v}" for v in _violations(page)]
    for menu in ("Reports & exports", "investigator.prague"):
        page.get_by_role("button", name=menu).press("Enter")
        expect(page.locator(".dropdown-menu.show")).to_be_visible()
        report += [f"menu {menu}: {v}" for v in _violations(page)]
        page.keyboard.press("Escape")
    page.goto(f"{live_server.url}/subjects/enrol/")
    page.get_by_role("button", name="Save").press("Enter")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    report += [f"enrolment form with errors: {v}" for v in _violations(page)]
    assert not report, "\n".join(report)
