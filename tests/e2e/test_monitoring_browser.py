"""A monitor questions a value, the investigator corrects it in the same step, the monitor
closes the query, and the principal investigator signs the casebook: in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from crf.models import Baseline, Role
from monitoring.models import Query, Signature
from tests.factories import PASSWORD, SiteFactory, baseline_for, enrol, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-MON-02", "UR-LCK-02"),
]


def test_query_answered_by_a_correction_then_closed_then_the_casebook_signed(
    page, live_server, log_in
):
    prague = SiteFactory(number=1, city="Prague")
    principal = user_with_role(
        Role.INVESTIGATOR, prague, username="pi.prague", principal_investigator=True,
        first_name="Jana", last_name="Nováková",
    )  # fmt: skip
    user_with_role(Role.MONITOR, prague, username="mon.prague")
    subject = enrol(prague, by=principal)
    baseline = baseline_for(subject, by=principal)

    log_in("mon.prague", PASSWORD)
    page.goto(f"{live_server.url}/subjects/{subject.study_id}/")
    page.get_by_role("link", name="Records for review").click()
    baseline_row = page.get_by_role("cell", name="Baseline", exact=True)  # named, not by its id
    page.locator("#review-records tr", has=baseline_row).get_by_role("link", name="review").click()
    page.locator("tr", has_text="weight (kg)").get_by_role("link", name="raise a query").click()
    page.get_by_label("Question to the site").fill("The source says 74 kg.")
    page.get_by_role("button", name="Open query").click()
    query = Query.objects.get()
    assert (query.field_name, query.status) == ("weight_kg", Query.Status.OPEN)

    page.context.clear_cookies()
    log_in("pi.prague", PASSWORD)
    page.goto(f"{live_server.url}/subjects/{subject.study_id}/")
    expect(page.get_by_text("The source says 74 kg.")).to_be_visible()
    page.goto(f"{live_server.url}/subjects/{subject.study_id}/records/baseline/{baseline.pk}/")
    page.get_by_role("link", name="Correct the value and answer").click()
    page.get_by_label("Weight").fill("74")
    page.get_by_label("Reason for change").fill("transcription error, source is 74 kg")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Baseline saved.")).to_be_visible()
    query.refresh_from_db()
    assert query.status == Query.Status.ANSWERED
    assert query.answer == "transcription error, source is 74 kg"
    assert str(Baseline.objects.get(pk=baseline.pk).weight_kg) == "74.0"

    page.goto(f"{live_server.url}/subjects/{subject.study_id}/sign/")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign").click()
    assert not Signature.objects.exists()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_text("Jana Nováková").first).to_be_visible()
    assert Signature.objects.get().signer == principal

    page.context.clear_cookies()
    log_in("mon.prague", PASSWORD)
    page.goto(f"{live_server.url}/queries/")
    page.get_by_role("link", name=re.compile(f"#{query.pk}")).first.click()
    page.get_by_role("button", name="Close query").click()
    query.refresh_from_db()
    assert query.status == Query.Status.CLOSED
