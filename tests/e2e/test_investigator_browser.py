"""An investigator logs in and opens a subject of their site, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from crf.models import Role, Site
from tests.factories import PASSWORD, SiteFactory, enrol, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-ACC-01", "UR-ACC-03"),
]


def test_investigator_logs_in_and_opens_a_subject_page(page, live_server, log_in):
    prague = SiteFactory(number=1, city="Prague")
    brno = SiteFactory(number=2, city="Brno")
    investigator = user_with_role(Role.INVESTIGATOR, prague, username="inv.prague")
    enrol(prague, by=investigator)
    enrol(brno)

    log_in("inv.prague", PASSWORD)
    page.locator("#nav").get_by_role("link", name="Subjects").click()
    expect(page.get_by_role("heading", name="Subjects")).to_be_visible()
    expect(page.get_by_role("link", name="1-01")).to_be_visible()
    expect(page.get_by_role("link", name="2-01")).to_have_count(0)

    page.get_by_role("link", name="1-01").click()
    expect(page).to_have_url(re.compile(r"/subjects/1-01/$"))
    expect(page.get_by_role("heading", name="Subject 1-01")).to_be_visible()
    expect(page.get_by_text(Site.objects.get(number=1).name)).to_be_visible()

    # Another site's subject is not found, not forbidden.
    response = page.goto(f"{live_server.url}/subjects/2-01/")
    assert response.status == 404
