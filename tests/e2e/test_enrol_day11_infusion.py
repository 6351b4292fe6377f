"""In a real browser: enrol a patient, record day 11, start the blinatumomab infusion."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crf.models import BlinatumomabInfusion, Role, Subject
from tests.factories import PASSWORD, SiteFactory, protocol_versions, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-ENR-01", "UR-DOS-02", "BD-2"),
]


def test_enrol_record_day11_and_start_the_infusion(page, live_server, log_in):
    site = SiteFactory(number=2, city="Brno")
    user_with_role(Role.INVESTIGATOR, site, username="inv.brno")
    protocol_versions()
    today = timezone.localdate()
    day1 = today - datetime.timedelta(days=20)
    consent = day1 - datetime.timedelta(days=2)

    log_in("inv.brno", PASSWORD)
    page.locator("#nav").get_by_role("link", name="Enrol").click()
    page.get_by_label("Informed consent date").fill(consent.isoformat())
    page.get_by_label("Consent form version").fill("2.0")
    for question in [
        "Adult (18 or older) at consent",
        "Untreated Ph-negative (BCR::ABL1-negative) B-cell precursor ALL",
        "CD19-positive",
        "No contraindication to the protocol chemotherapy",
    ]:
        page.get_by_role("group", name=question).get_by_label("Yes").check()
    page.get_by_label("Study day 1").fill(day1.isoformat())
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Subject 2-01 enrolled.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/subjects/2-01/$"))
    expect(page.locator(".timeline svg")).to_be_visible()

    page.get_by_role("row", name=re.compile("Day-11 assessment")).get_by_role(
        "link", name="enter"
    ).click()
    day11 = day1 + datetime.timedelta(days=10)
    page.get_by_label("Assessed on").fill(day11.isoformat())
    page.get_by_label("Bone marrow blasts").fill("62")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Day-11 assessment saved.")).to_be_visible()

    page.get_by_role("link", name="Blinatumomab infusion").first.click()
    # Version 2 (BD-2): everyone starts at 9 ug/day for 7 infusion days.
    expect(page.get_by_text("9 µg/day on infusion days 1–7, then 28 µg/day")).to_be_visible()
    start = page.get_by_role("form", name="start")
    start.get_by_label("Infusion started").fill(
        f"{(day1 + datetime.timedelta(days=11)).isoformat()}T09:00"
    )
    expect(start.get_by_label("9 µg/day")).to_be_checked()
    start.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Infusion log saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Cycle 1")).to_be_visible()
    expect(page.locator("#next-step")).to_contain_text("28 µg/day")
    subject = Subject.objects.get(study_id="2-01")
    cycle = BlinatumomabInfusion.objects.get(subject=subject)
    assert cycle.dose_changes.get().ug_per_day == 9
