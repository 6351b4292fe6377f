"""Locked data is read-only wherever it shows: no form to fill in, no link that writes, a POST
refused with the lock's message shown once, and the lock named with who and when on the site's
clock with its zone."""

import datetime
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from crf.models import Baseline, Role
from monitoring.locks import lock_create
from monitoring.models import Lock
from mrd.services import sample_record
from safety.models import AdverseEvent, LabPanel, LabValue
from tests.factories import (
    baseline_for,
    course_for,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-LCK-01")

REASON = "interim analysis"
# A summer moment: 07:30 UTC is 09:30 CEST on the site's clock (Europe/Prague).
LOCKED_AT = datetime.datetime(2026, 7, 1, 7, 30, tzinfo=datetime.UTC)
LOCAL = "2026-07-01 09:30 CEST"

# Paths that write a subject's data (entry, correction, actions), as links or form targets.
WRITE_PATHS = re.compile(
    r"/records/[a-z][\w-]*/(new|\d+)/$|/edit/$|/infusion/[\w-]+/$|/labs/values/\d+/$"
    r"|/adverse-events/(new|\d+)/$|/follow-up/$|/mrd/samples/|/administrations?/"
)


@pytest.fixture
def data_manager(db):
    return user_with_role(Role.DATA_MANAGER, None, username="datamanager")


@pytest.fixture
def casebook(subject_a, investigator_a):
    """A subject with data on every page: baseline, course, day 11, an infusion, a lab panel,
    a serious adverse event and an MRD sample."""
    records = {
        "baseline": baseline_for(subject_a, by=investigator_a),
        "course": course_for(subject_a, by=investigator_a),
        "day11": day11_for(subject_a, by=investigator_a),
    }
    records["infusion"] = infusion_started_for(subject_a, by=investigator_a)
    records["panel"] = lab_panel_for(subject_a, by=investigator_a)
    records["ae"] = serious_ae_for(subject_a, by=investigator_a)
    records["sample"] = sample_record(
        subject=subject_a,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=subject_a.day1_date + datetime.timedelta(days=74),
        user=investigator_a,
    )
    return records


def _lock_subject(subject, by) -> Lock:
    lock = lock_create(level=Lock.Level.SUBJECT, subject=subject, reason=REASON, user=by)
    Lock.objects.filter(pk=lock.pk).update(locked_at=LOCKED_AT)
    lock.refresh_from_db()
    return lock


def _message(target="Subject 1-01") -> str:
    return (
        f"{target} is locked (locked by datamanager on {LOCAL}: {REASON}). "
        "Ask a data manager to unlock it before changing its data."
    )


class _Page(HTMLParser):
    """The controls of a page's main part that a user could fill in or submit, and its links."""

    def __init__(self):
        super().__init__()
        self.enabled: list[str] = []
        self.links: list[str] = []
        self.form_actions: list[str] = []
        self._in_main = False
        self._in_logout = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self._in_main = True
        if not self._in_main:
            return
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form":
            self.form_actions.append(attrs.get("action") or "")
        disabled = "disabled" in attrs
        kind = attrs.get("type", "text" if tag == "input" else "submit")
        if tag == "input" and kind != "hidden" and not disabled:
            self.enabled.append(f"input {attrs.get('name')}")
        elif tag in {"select", "textarea"} and not disabled:
            self.enabled.append(f"{tag} {attrs.get('name')}")
        elif tag == "button" and kind == "submit" and not disabled:
            self.enabled.append(f"button {attrs.get('name') or ''}")

    def handle_endtag(self, tag):
        if tag == "main":
            self._in_main = False

    @classmethod
    def of(cls, html: str) -> "_Page":
        page = cls()
        page.feed(html)
        return page

    def write_links(self) -> list[str]:
        return [href for href in self.links if WRITE_PATHS.search(href.split("?")[0])]


def _pages(subject, records):
    study_id = subject.study_id
    value = records["panel"].values.get()
    administration = records["course"].administrations.first()
    pages = [
        reverse("crf:subject_detail", args=[study_id]),
        reverse("crf:infusion", args=[study_id]),
        reverse("crf:course", args=[study_id, records["course"].pk]),
        reverse("safety:labs", args=[study_id]),
        reverse("safety:adverse_events", args=[study_id]),
        reverse("mrd:subject", args=[study_id]),
        reverse("crf:subject_edit", args=[study_id]),
        reverse("crf:record_edit", args=[study_id, "baseline", records["baseline"].pk]),
        reverse("crf:record_new", args=[study_id, "visit"]),
        reverse("safety:lab_value", args=[study_id, value.pk]),
        reverse("safety:adverse_event", args=[study_id, records["ae"].pk]),
        reverse("safety:adverse_event_new", args=[study_id]),
        reverse("safety:sae_follow_up", args=[study_id, records["ae"].pk]),
    ]
    if administration is not None:
        pages.append(reverse("crf:administration", args=[study_id, administration.pk]))
    return pages


@pytest.mark.django_db
def test_a_locked_subject_offers_no_form_and_no_write_link_on_any_of_its_pages(
    client, subject_a, investigator_a, data_manager, casebook
):
    client.force_login(investigator_a)
    open_page = _Page.of(
        client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    )
    assert open_page.enabled and open_page.write_links()  # before the lock: forms and links

    _lock_subject(subject_a, data_manager)
    for url in _pages(subject_a, casebook):
        response = client.get(url)
        assert response.status_code == 200, url
        page = _Page.of(response.content.decode())
        assert page.enabled == [], (url, page.enabled)
        assert page.write_links() == [], (url, page.write_links())
        assert [a for a in page.form_actions if WRITE_PATHS.search(a)] == [], url


@pytest.mark.django_db
def test_a_locked_subject_offers_the_central_lab_no_result_entry(
    client, subject_a, investigator_a, data_manager, central_lab, casebook
):
    client.force_login(central_lab)
    url = reverse("mrd:subject", args=[subject_a.study_id])
    assert _Page.of(client.get(url).content.decode()).write_links()
    _lock_subject(subject_a, data_manager)
    assert _Page.of(client.get(url).content.decode()).write_links() == []
    result = reverse("mrd:result", args=[casebook["sample"].accession, "qpcr"])
    page = client.get(result).content.decode()
    assert _Page.of(page).enabled == [] and page.count(_message()) == 1


@pytest.mark.django_db
def test_a_locked_record_is_shown_read_only_while_the_others_stay_open(
    client, subject_a, investigator_a, data_manager, casebook
):
    lock_create(
        level=Lock.Level.FORM, record=casebook["baseline"], reason=REASON, user=data_manager
    )
    client.force_login(investigator_a)
    detail = _Page.of(
        client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    )
    baseline_url = reverse(
        "crf:record_edit", args=[subject_a.study_id, "baseline", casebook["baseline"].pk]
    )
    assert baseline_url not in detail.links
    assert any("/records/day11/" in href for href in detail.links)  # not locked: offered
    page = _Page.of(client.get(baseline_url).content.decode())
    assert page.enabled == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "unchanged"),
    [
        (
            "baseline",
            {"weight_kg": "81", "version": "1", "reason_for_change": "weighed again"},
            lambda: Baseline.objects.get().weight_kg == Decimal("75.0"),
        ),
        (
            "labs",
            {
                "sampled_at": "2026-03-16T08:00",
                "local_lab": "IHBT",
                "alt_value": "30",
                "alt_unit": "U/L",
                "alt_uln": "40",
            },
            lambda: LabPanel.objects.count() == 1,
        ),  # fmt: skip
        (
            "lab_value",
            {"value": "90", "unit": "U/L", "uln": "40", "version": "1", "reason_for_change": "x"},
            lambda: LabValue.objects.get().value == Decimal("250"),
        ),
        (
            "adverse_event_new",
            {"verbatim": "ALT up", "onset_date": "2026-03-15", "grade": "3"},
            lambda: AdverseEvent.objects.count() == 1,
        ),
    ],
)
def test_a_post_to_locked_data_is_refused_with_the_lock_message_once(
    client, subject_a, investigator_a, data_manager, casebook, name, data, unchanged
):
    _lock_subject(subject_a, data_manager)
    study_id = subject_a.study_id
    url = {
        "baseline": reverse(
            "crf:record_edit", args=[study_id, "baseline", casebook["baseline"].pk]
        ),
        "labs": reverse("safety:labs", args=[study_id]),
        "lab_value": reverse(
            "safety:lab_value", args=[study_id, casebook["panel"].values.get().pk]
        ),
        "adverse_event_new": reverse("safety:adverse_event_new", args=[study_id]),
    }[name]
    client.force_login(investigator_a)
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count(_message()) == 1
    assert _Page.of(page).enabled == []
    assert unchanged()


@pytest.mark.django_db
def test_an_infusion_action_on_a_locked_subject_is_refused_once(
    client, subject_a, investigator_a, data_manager, casebook
):
    _lock_subject(subject_a, data_manager)
    client.force_login(investigator_a)
    response = client.post(
        reverse("crf:infusion_action", args=[subject_a.study_id, "interrupt"]),
        {"interrupt-started_at": "2026-03-15T10:00", "interrupt-reason": "hepatic"},
    )
    page = response.content.decode()
    assert page.count(_message()) == 1
    assert not casebook["infusion"].interruptions.exists()


@pytest.mark.verifies("UR-OPS-03")
@pytest.mark.django_db
def test_the_lock_is_named_with_who_and_when_on_the_sites_clock(
    client, subject_a, investigator_a, data_manager, casebook
):
    lock = _lock_subject(subject_a, data_manager)
    client.force_login(investigator_a)
    detail = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert f"locked by datamanager on {LOCAL}: {REASON}" in detail
    labs = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    assert labs.count(_message()) == 1
    client.force_login(data_manager)
    for url in (reverse("monitoring:locks"), reverse("monitoring:unlock", args=[lock.pk])):
        page = client.get(url).content.decode()
        assert LOCAL in page, url
        assert "07:30" not in page and "UTC" not in page.split("<footer")[0], url
