"""In a real browser: a number typed with a decimal comma is saved as typed (a browser's number
input dropped the comma: 12,4 became 124), a date reads YYYY-MM-DD (not the browser's locale),
and a date-time input says the site's time zone."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crf.models import Baseline, BlinatumomabInfusion, Role
from tests.factories import PASSWORD, SiteFactory, day11_for, enrol, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-REC-02", "UR-OPS-03"),
]


def test_a_decimal_comma_is_saved_and_dates_and_times_read_as_on_every_page(
    page, live_server, log_in
):
    site = SiteFactory(number=3, city="Olomouc")
    investigator = user_with_role(Role.INVESTIGATOR, site, username="inv.olomouc")
    subject = enrol(site, by=investigator)  # study day 1 on 2026-03-02
    log_in("inv.olomouc", PASSWORD)

    page.goto(live_server.url + reverse("crf:record_new", args=[subject.study_id, "baseline"]))
    page.locator("#id_sex").select_option("F")
    page.locator("#id_year_of_birth").fill("1985")
    page.locator("#id_height_cm").fill("170")
    page.locator("#id_weight_kg").fill("75,5")
    diagnosis = page.locator("#id_diagnosis_date")
    expect(diagnosis).to_have_attribute("type", "text")
    expect(diagnosis).to_have_attribute("placeholder", "YYYY-MM-DD")
    diagnosis.fill("2026-02-25")
    leukocytes = page.get_by_label(re.compile("leukocytes", re.IGNORECASE))
    expect(leukocytes).to_have_attribute("inputmode", "decimal")
    # The unit stands beside the input and is read with it.
    expect(page.locator("#id_leukocytes-unit")).to_have_text("×10⁹/L")
    expect(leukocytes).to_have_accessible_description(re.compile("×10⁹/L"))
    leukocytes.press_sequentially("12,4")  # typed key by key, as a person does
    expect(leukocytes).to_have_value("12,4")  # nothing dropped by the browser
    page.locator("#id_marrow_blasts_percent").fill("81")
    page.locator("#id_immunophenotype").select_option("B-II")
    page.locator("#id_cd20_positive").select_option(label="No")
    page.locator("#id_karyotype").select_option("normal")
    page.locator("#id_cns_status").select_option("CNS1")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/subjects/{subject.study_id}/$"))

    baseline = Baseline.objects.get(subject=subject)
    assert (baseline.leukocytes, baseline.weight_kg) == (Decimal("12.4"), Decimal("75.5"))

    # Read back: the date as ISO text, the number as typed with a point.
    page.goto(
        live_server.url
        + reverse("crf:record_edit", args=[subject.study_id, "baseline", baseline.pk])
    )
    expect(page.locator("#id_diagnosis_date")).to_have_value("2026-02-25")
    expect(page.locator("#id_leukocytes")).to_have_value("12.4")

    # A date-time input names the site's time zone beside it, and a time typed as shown is read
    # in that zone (09:00 in Prague in March is 08:00 UTC).
    day11_for(subject, by=investigator)
    page.goto(live_server.url + reverse("crf:infusion", args=[subject.study_id]))
    start = page.get_by_role("form", name="start")
    started = start.get_by_label("Infusion started")
    expect(started).to_have_attribute("type", "text")
    expect(started).to_have_attribute("placeholder", "YYYY-MM-DD HH:MM")
    expect(start.locator("#id_start-started_at-zone")).to_have_text("Prague time (CET/CEST)")
    expect(started).to_have_accessible_description(re.compile(r"Prague time \(CET/CEST\)"))
    started.fill("2026-03-13 09:00")
    start.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Infusion log saved.")).to_be_visible()
    expect(page.get_by_text("started 2026-03-13 09:00 CET")).to_be_visible()
    cycle = BlinatumomabInfusion.objects.get(subject=subject)
    assert cycle.started_at.isoformat() == "2026-03-13T08:00:00+00:00"
