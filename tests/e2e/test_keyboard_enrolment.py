"""Enrolling a patient with the keyboard only (Tab, Shift-Tab, Enter, Space, arrows and typing;
no clicks): the skip link comes first, every stop shows where the focus is, nothing traps it."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crf.models import Role, Subject
from tests.factories import PASSWORD, SiteFactory, protocol_versions, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-OPS-03", "UR-ENR-01"),
]

MAX_TABS = 40  # more Tab presses than any page here has stops: beyond it, focus is trapped

FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  const label = (e.labels && e.labels.length) ? e.labels[0].innerText : '';
  return {
    tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '', id: e.id || '',
    text: (label || e.getAttribute('aria-label') || e.innerText || '').trim(),
    inMain: !!e.closest('main'),
    outline: style.outlineStyle !== 'none' ? parseFloat(style.outlineWidth) : 0,
    visible: !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length),
  };
}"""


def _focused(page) -> dict:
    return page.evaluate(FOCUSED)


def _tab_to(page, matches, *, back: bool = False) -> dict:
    """Press Tab (Shift-Tab) until the focused element matches; every stop on the way must be
    visible and show its focus (an outline of at least 2 px)."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = _focused(page)
        seen.append(focused["text"] or focused["name"] or focused["tag"])
        assert focused["visible"], f"focus on an invisible element: {focused}"
        assert focused["outline"] >= 2, f"focus not shown on {focused}"
        if matches(focused):
            return focused
    raise AssertionError(f"never reached; focus went through {seen}")


def _type_date(page, day: datetime.date) -> None:
    """Type a date into the focused field, as YYYY-MM-DD (or, in the browser's own date field,
    month, day and year as its en-US segments ask)."""
    if _focused(page)["type"] == "date":
        page.keyboard.type(day.strftime("%m%d%Y"))
    else:
        page.keyboard.type(day.isoformat())


def test_an_investigator_enrols_a_patient_with_the_keyboard_only(browser, live_server):
    site = SiteFactory(number=2, city="Brno")
    user_with_role(Role.INVESTIGATOR, site, username="inv.brno")
    protocol_versions()
    today = timezone.localdate()
    day1 = today - datetime.timedelta(days=3)
    consent = day1 - datetime.timedelta(days=2)

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        expect(page.get_by_label("Username")).to_be_focused()  # the cursor is there already
        page.keyboard.type("inv.brno")
        _tab_to(page, lambda f: f["name"] == "password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).not_to_have_url(re.compile("/accounts/login/"))

        # The first Tab reaches "Skip to main content", shown while it has the focus.
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to main content")
        expect(skip).to_be_focused()
        expect(skip).to_be_visible()
        # Through the navigation to Enrol.
        _tab_to(page, lambda f: f["text"] == "Enrol" and not f["inMain"])
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Screen and enrol a patient")).to_be_visible()

        # Skip the navigation: the next Tab is in the form.
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
        page.keyboard.press("Enter")
        first = _tab_to(page, lambda f: True)
        assert first["inMain"], f"after the skip link, Tab went to {first}"

        _tab_to(page, lambda f: f["text"].startswith("Informed consent date"))
        _type_date(page, consent)
        _tab_to(page, lambda f: f["text"].startswith("Consent form version"))
        page.keyboard.type("2.0")
        for question in [
            "adult_at_consent",
            "untreated_ph_negative_bcp_all",
            "cd19_positive",
            "no_contraindication",
        ]:
            radio = _tab_to(page, lambda f, q=question: f["name"] == q)
            assert radio["text"] == "Yes", radio  # a group's first stop is its first answer
            page.keyboard.press("Space")
        _tab_to(page, lambda f: f["text"].startswith("Study day 1"))
        # One Shift-Tab goes back to the last question, answered Yes; Tab comes forward again.
        back = _tab_to(page, lambda f: True, back=True)
        assert back["name"] == "no_contraindication" and back["text"] == "Yes", back
        expect(page.locator("input[name=no_contraindication][value=True]")).to_be_checked()
        page.keyboard.press("Tab")
        assert _focused(page)["text"].startswith("Study day 1")
        _type_date(page, day1)
        _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Save")
        page.keyboard.press("Enter")

        expect(page.get_by_text("Subject 2-01 enrolled.")).to_be_visible()
        # (the #main of the skip link stays with the address: the page opens at its content)
        expect(page).to_have_url(re.compile(r"/subjects/2-01/(#main)?$"))
        subject = Subject.objects.get(study_id="2-01")
        assert (subject.day1_date, subject.site) == (day1, site)
        assert subject.screening.consent_date == consent
    finally:
        context.close()
