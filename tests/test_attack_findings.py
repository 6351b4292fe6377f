"""Findings of an attack on the running system, each as a regression test at the level it was
found: HTTP with real sessions, logins and CSRF tokens, against the real database."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from crf.models import Day11Assessment, EndOfStudy, Role, Subject
from crf.services import membership_grant
from monitoring.models import Signature
from mrd.models import MrdResult
from mrd.services import sample_record
from mrd.upload import COLUMNS
from tests.factories import PASSWORD, baseline_for, user_with_role

# --- A browser: real logins, CSRF tokens and the forms as the pages render them -----------------


class _Forms(HTMLParser):
    """The POST forms of a page: their action and the values a browser would send."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append({"action": a.get("action") or "", "fields": []})
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    fields.append([a["name"], a.get("value", "on")])
            elif kind not in {"submit", "button", "file"}:
                fields.append([a["name"], a.get("value") or ""])
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None, None]  # name, first option, selected option
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select[1] is None:
                self._select[1] = value
            if "selected" in a:
                self._select[2] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            name, first, chosen = self._select
            self.forms[-1]["fields"].append([name, chosen if chosen is not None else first or ""])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.forms[-1]["fields"].append([self._textarea[0], self._textarea[1].lstrip("\n")])
            self._textarea = None


def page_form(html: str, containing: str) -> dict[str, str]:
    """The values of the page's POST form that has a field named `containing`."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        names = {name for name, _ in form["fields"]}
        if containing in names:
            return dict(form["fields"])
    raise AssertionError(f"no form with a field {containing!r}")


class Browser:
    """One person's browser: a session of its own, CSRF enforced, logged in through the page."""

    def __init__(self, user):
        self.client = Client(enforce_csrf_checks=True)
        self.user = user
        login = reverse("accounts:login")
        form = page_form(self.client.get(login).content.decode(), "username")
        form.update(username=user.username, password=PASSWORD)
        assert self.client.post(login, form).status_code == 302, "login failed"

    def get(self, url, **params):
        return self.client.get(url, params)

    def submit(self, url, containing: str, changes: dict | None = None, html: str | None = None):
        """Fill the form of the page at `url` (or of `html`, a page already shown) and post it."""
        html = html if html is not None else self.client.get(url).content.decode()
        data = page_form(html, containing)
        data.update(changes or {})
        return self.client.post(url, data)


def _text(response) -> str:
    return response.content.decode()


# --- 1. No lost update after a refused stale save ----------------------------------------------


@pytest.fixture
def two_investigators(site_a, investigator_a):
    other = user_with_role(Role.INVESTIGATOR, site_a, username="inv.a2")
    return investigator_a, other


def _baseline_url(baseline) -> str:
    return reverse("crf:record_edit", args=[baseline.subject.study_id, "baseline", baseline.pk])


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_saving_again_after_a_stale_refusal_keeps_the_other_persons_correction(
    subject_a, two_investigators
):
    a_user, b_user = two_investigators
    baseline = baseline_for(subject_a, by=a_user)  # leukocytes 5.9, marrow blasts 81
    url = _baseline_url(baseline)
    a, b = Browser(a_user), Browser(b_user)
    b_page = _text(b.get(url))  # B opens the form first
    saved = a.submit(url, "leukocytes", {"leukocytes": "6.00", "reason_for_change": "lab re-read"})
    assert saved.status_code == 302

    changes = {"marrow_blasts_percent": "85", "reason_for_change": "marrow report"}
    refused = b.submit(url, "leukocytes", changes, html=b_page)
    body = _text(refused)
    assert refused.status_code == 200 and "Not saved" in body
    assert "changed this to 6.00 meanwhile; you had not changed it" in body
    shown = page_form(body, "leukocytes")
    assert Decimal(shown["leukocytes"]) == Decimal("6.00")  # the value now saved, not B's old one
    assert shown["marrow_blasts_percent"] == "85"  # B's own change is kept

    again = b.client.post(url, shown)  # B saves the re-displayed form as it is
    assert again.status_code == 302
    baseline.refresh_from_db()
    assert baseline.leukocytes == Decimal("6.00")  # A's correction stands
    assert baseline.marrow_blasts_percent == 85


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_both_changing_the_same_value_keeps_mine_and_marks_it(subject_a, two_investigators):
    a_user, b_user = two_investigators
    baseline = baseline_for(subject_a, by=a_user)
    url = _baseline_url(baseline)
    a, b = Browser(a_user), Browser(b_user)
    b_page = _text(b.get(url))
    a.submit(url, "leukocytes", {"leukocytes": "6.00", "reason_for_change": "lab re-read"})
    refused = b.submit(url, "leukocytes", {"leukocytes": "7.10", "reason_for_change": "typo"},
                       html=b_page)  # fmt: skip
    body = _text(refused)
    assert "changed this to 6.00 meanwhile; your value is kept here" in body
    assert Decimal(page_form(body, "leukocytes")["leukocytes"]) == Decimal("7.10")
    baseline.refresh_from_db()
    assert baseline.leukocytes == Decimal("6.00")


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_a_second_end_of_study_is_not_dropped_but_shown_with_a_message(
    subject_a, two_investigators
):
    a_user, b_user = two_investigators
    url = reverse("crf:record_new", args=[subject_a.study_id, "end-of-study"])
    a, b = Browser(a_user), Browser(b_user)
    b_page = _text(b.get(url))
    first = {"end_date": "2026-06-01", "reason": "completed", "details": ""}
    assert a.submit(url, "end_date", first).status_code == 302
    second = {"end_date": "2026-06-02", "reason": "other", "details": "moved abroad, see letter"}
    response = b.submit(url, "end_date", second, html=b_page)
    body = _text(response)
    assert response.status_code == 200
    assert "entered the end of study of this subject" in body
    assert "moved abroad, see letter" in body  # B's input is kept
    record = EndOfStudy.objects.get(subject=subject_a)
    assert record.reason == "completed" and record.version == 1
    edit = reverse("crf:record_edit", args=[subject_a.study_id, "end-of-study", record.pk])
    assert f'action="{edit}"' in body  # saving again corrects the saved record, with a reason


# --- 2. Every write checks the object's own site for the acting role -------------------------


@pytest.mark.verifies("UR-ACC-01", "UR-ACC-02")
@pytest.mark.django_db
def test_a_monitor_at_one_site_and_lab_at_another_cannot_upload_the_first_sites_results(
    site_a, site_b, subject_a, investigator_a
):
    sample = sample_record(subject=subject_a, timepoint="W11", material="bone_marrow",
                           sampled_on=datetime.date(2026, 5, 12), user=investigator_a)  # fmt: skip
    user = user_with_role(Role.MONITOR, site_a, username="two.hats")
    membership_grant(user=user, role=Role.CENTRAL_LAB, site=site_b, granted_by=None)
    browser = Browser(user)
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow({"accession": sample.accession, "method": "qpcr", "result": "negative",
                     "sensitivity": "1E-5", "report_date": "2026-05-20"})  # fmt: skip
    upload = SimpleUploadedFile("batch.csv", rows.getvalue().encode(), content_type="text/csv")
    page = browser.client.get(reverse("mrd:upload"))
    data = page_form(_text(page), "csrfmiddlewaretoken")
    preview = browser.client.post(reverse("mrd:upload"), {**data, "file": upload}, follow=True)
    assert "Only the central MRD laboratory enters MRD results." in _text(preview)
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-ACC-01", "UR-ACC-02")
@pytest.mark.django_db
def test_an_investigator_at_one_site_and_monitor_at_another_writes_only_at_the_first(
    site_a, site_b, subject_a, subject_b
):
    """Roles at two sites: what the user may do is decided by the role at the record's own
    site, on every route."""
    user = user_with_role(Role.INVESTIGATOR, site_b, username="two.roles")
    membership_grant(user=user, role=Role.MONITOR, site=site_a, granted_by=None)
    browser = Browser(user)
    data = {"assessed_on": "2026-03-12", "marrow_blasts_percent": "30"}
    own = reverse("crf:record_new", args=[subject_b.study_id, "day11"])
    other = reverse("crf:record_new", args=[subject_a.study_id, "day11"])
    assert browser.submit(own, "assessed_on", data).status_code == 302
    refused = browser.client.post(other, {**data, "csrfmiddlewaretoken": _csrf(browser)})
    assert refused.status_code in (403, 404)
    assert not Day11Assessment.objects.filter(subject=subject_a).exists()
    assert Day11Assessment.objects.filter(subject=subject_b).exists()


def _csrf(browser: Browser) -> str:
    return browser.client.cookies["csrftoken"].value


# --- 3. One neutralising function for every CSV cell ----------------------------------------


@pytest.mark.verifies("UR-ACC-05", "UR-MON-01")
@pytest.mark.django_db
def test_a_formula_as_user_name_at_login_is_neutralised_in_the_study_trail_csv(site_a):
    anonymous = Client(enforce_csrf_checks=True)
    login = reverse("accounts:login")
    form = page_form(_text(anonymous.get(login)), "username")
    formula = '=HYPERLINK("http://x","y")'
    anonymous.post(login, {**form, "username": formula, "password": "wrong"})
    manager = Browser(user_with_role(Role.DATA_MANAGER, None, username="dm"))
    response = manager.get(reverse("monitoring:study_audit"), format="csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    users = [row[1] for row in rows[1:]]
    assert "'" + formula in users
    assert formula not in users


# --- 5. Password guessing counts everywhere ---------------------------------------------------


@pytest.fixture
def principal(site_a):
    return user_with_role(Role.INVESTIGATOR, site_a, principal_investigator=True, username="pi")


@pytest.mark.verifies("UR-ACC-03", "UR-LCK-02")
@pytest.mark.django_db
def test_wrong_signature_passwords_lock_the_account_like_failed_logins(
    site_a, subject_a, principal
):
    baseline_for(subject_a, by=principal)
    browser = Browser(principal)
    url = reverse("monitoring:sign_casebook", args=[subject_a.study_id])
    for _ in range(5):
        browser.submit(url, "password", {"password": "not-my-password"})
    refused = browser.submit(url, "password", {"password": PASSWORD})  # the right one, too late
    assert not Signature.objects.exists()
    assert "locked" in _text(refused).lower() or refused.status_code in (403, 429)
    stranger = Client()
    login = stranger.post(reverse("accounts:login"), {"username": "pi", "password": PASSWORD})
    assert login.status_code != 302  # locked out at login too


@pytest.mark.verifies("UR-ACC-03")
@pytest.mark.django_db
def test_wrong_old_passwords_at_the_password_change_count_toward_the_lockout(site_a):
    user = user_with_role(Role.INVESTIGATOR, site_a, username="frank")
    browser = Browser(user)
    url = reverse("accounts:password_change")
    for _ in range(5):
        browser.submit(url, "old_password", {"old_password": "guess", "new_password1": "x" * 14,
                                             "new_password2": "x" * 14})  # fmt: skip
    assert AccessAttempt.objects.get(username="frank").failures_since_start >= 5
    login = Client().post(reverse("accounts:login"), {"username": "frank", "password": PASSWORD})
    assert login.status_code != 302


@pytest.mark.verifies("UR-ACC-03")
@pytest.mark.django_db
def test_attempts_while_locked_out_do_not_restart_the_thirty_minutes(site_a):
    user_with_role(Role.INVESTIGATOR, site_a, username="grace")
    guesser = Client()
    for _ in range(5):
        guesser.post(reverse("accounts:login"), {"username": "grace", "password": "guess"})
    locked_at = AccessAttempt.objects.get(username="grace").attempt_time
    for password in ("guess", PASSWORD):
        guesser.post(reverse("accounts:login"), {"username": "grace", "password": password})
    assert AccessAttempt.objects.get(username="grace").attempt_time == locked_at


# --- 6. No 500 and no open redirect ---------------------------------------------------------


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.django_db
def test_record_routes_with_the_subjects_own_content_type_answer_without_a_500(site_a, subject_a):
    manager = Browser(user_with_role(Role.DATA_MANAGER, None, username="dm"))
    subject_type = ContentType.objects.get_for_model(Subject).pk
    other = Subject.objects.exclude(pk=subject_a.pk).values_list("pk", flat=True).first() or 0
    for name in ("monitoring:record_review", "monitoring:query_new", "monitoring:record_verify",
                 "monitoring:lock_form", "monitoring:sign_form"):  # fmt: skip
        for pk in (subject_a.pk, other + 999):
            url = reverse(name, args=[subject_a.study_id, subject_type, pk])
            assert manager.client.get(url).status_code in (200, 302, 403, 404), url


@pytest.mark.verifies("UR-ACC-05", "UR-MON-01")
@pytest.mark.django_db
def test_a_far_date_in_the_audit_trail_filter_is_refused_with_a_message(site_a):
    manager = Browser(user_with_role(Role.DATA_MANAGER, None, username="dm"))
    response = manager.get(reverse("monitoring:study_audit"), until="9999-12-31")
    assert response.status_code == 200
    assert "Enter a date between 1900 and 2100." in _text(response)


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.django_db
def test_the_admin_login_never_redirects_off_site(site_a):
    staff = user_with_role(Role.DATA_MANAGER, None, username="staff", is_staff=True)
    browser = Browser(staff)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", " ", "\x00"):
        response = browser.client.get(reverse("admin:login"), {"next": target})
        assert response.status_code == 302, target
        assert response["Location"] == reverse("admin:index"), target
    inside = browser.client.get(reverse("admin:login"), {"next": "/admin/crf/"})
    assert inside["Location"] == "/admin/crf/"


# --- 7. Every refused POST says why -----------------------------------------------------------


@pytest.mark.verifies("UR-REC-04", "UR-ACC-05")
@pytest.mark.django_db
def test_a_change_without_a_valid_version_says_so(subject_a, investigator_a):
    baseline = baseline_for(subject_a, by=investigator_a)
    browser = Browser(investigator_a)
    url = _baseline_url(baseline)
    for version in ("", "NaN"):
        changes = {"leukocytes": "6.1", "reason_for_change": "x", "version": version}
        body = _text(browser.submit(url, "leukocytes", changes))
        assert "does not say which version of the record it changes" in body, version
    baseline.refresh_from_db()
    assert baseline.leukocytes == Decimal("5.9")


@pytest.mark.verifies("UR-LCK-01", "UR-ACC-05")
@pytest.mark.django_db
def test_a_lock_of_an_unknown_level_says_nothing_was_locked(site_a):
    manager = Browser(user_with_role(Role.DATA_MANAGER, None, username="dm"))
    url = reverse("monitoring:locks")
    page = _text(manager.client.get(url))
    data = page_form(page, "level")
    data["level"] = "galaxy"
    body = _text(manager.client.post(url, data, follow=True))
    assert "Nothing was locked: choose to lock a site or a subject." in body


@pytest.mark.verifies("UR-MRD-02")
@pytest.mark.django_db
def test_an_upload_row_with_cells_beyond_the_header_is_an_error(site_a, subject_a, investigator_a):
    sample = sample_record(subject=subject_a, timepoint="W11", material="bone_marrow",
                           sampled_on=datetime.date(2026, 5, 12), user=investigator_a)  # fmt: skip
    lab = Browser(user_with_role(Role.CENTRAL_LAB, None, username="lab"))
    line = f"{sample.accession},qpcr,negative,,1E-5,,,2026-05-20,,,,extra"
    content = (",".join(COLUMNS) + "\n" + line + "\n").encode()
    data = page_form(_text(lab.client.get(reverse("mrd:upload"))), "csrfmiddlewaretoken")
    upload = SimpleUploadedFile("batch.csv", content, content_type="text/csv")
    body = _text(lab.client.post(reverse("mrd:upload"), {**data, "file": upload}, follow=True))
    assert "1 cell(s) beyond the header" in body


# --- 11. Nothing of a signed-in user is kept in caches ---------------------------------------


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.django_db
def test_signed_in_pages_and_downloads_are_not_stored(site_a, subject_a, investigator_a):
    browser = Browser(investigator_a)
    page = browser.get(reverse("crf:subject_detail", args=[subject_a.study_id]))
    assert "no-store" in page["Cache-Control"]
    trail = browser.get(reverse("monitoring:subject_audit", args=[subject_a.study_id]),
                        format="csv")  # fmt: skip
    assert "no-store" in trail["Cache-Control"]
