"""No Content-Security-Policy violation on the main pages, and their scripts still run."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crf.models import Role
from tests.factories import PASSWORD, enrol, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-ACC-05"),
]


def test_no_csp_violation_in_the_browser_and_scripts_still_work(page, live_server, log_in, site_a):
    investigator = user_with_role(Role.INVESTIGATOR, site_a, username="inv.csp")
    subject = enrol(site_a, by=investigator)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in("inv.csp", PASSWORD)
    for url in (
        reverse("crf:subject_detail", args=[subject.study_id]),
        reverse("mrd:subject", args=[subject.study_id]),
        reverse("exports:report"),
    ):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
    # Bootstrap's script runs: the user menu opens.
    page.get_by_role("button", name="inv.csp").or_(page.get_by_role("link", name="inv.csp")).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert not violations, violations


@pytest.mark.verifies("UR-API-01")
def test_the_api_documentation_page_runs_under_the_policy(page, live_server, db):
    """Swagger UI, served from the eCRF's own static files, lists the operations with no CSP
    violation."""
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("/api/v1/mrd-results").first).to_be_visible()
    assert not violations, violations
