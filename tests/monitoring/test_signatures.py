"""Investigator signatures: the PI signs with the password; a change invalidates the signature."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AccountEvent
from crf.models import Baseline, Role, Visit
from crf.services import record_save
from monitoring.locks import lock_create
from monitoring.models import Lock, Signature
from monitoring.records import casebook_hash, record_hash, record_pointer
from safety.models import LabValue
from safety.services import lab_value_correct
from tests.factories import PASSWORD, baseline_for, lab_panel_for, user_with_role

pytestmark = pytest.mark.verifies("UR-LCK-02")

INVALID = "invalidated: the data changed after signing"


@pytest.fixture
def pi_a(site_a):
    return user_with_role(
        Role.INVESTIGATOR,
        site_a,
        principal_investigator=True,
        username="pi.a",
        first_name="Jana",
        last_name="Dvořáková",
    )


@pytest.fixture
def casebook(subject_a, investigator_a):
    baseline_for(subject_a, by=investigator_a)
    lab_panel_for(subject_a, by=investigator_a)
    return subject_a


def _sign(client, subject, password=PASSWORD, record=None):
    if record is None:
        url = reverse("monitoring:sign_casebook", args=[subject.study_id])
    else:
        url = reverse("monitoring:sign_form", args=[subject.study_id, *record_pointer(record)])
    return client.post(url, {"password": password})


def _subject_page(client, subject) -> str:
    return client.get(reverse("crf:subject_detail", args=[subject.study_id])).content.decode()


@pytest.mark.django_db
def test_the_pi_signs_the_casebook_with_the_password(client, casebook, pi_a):
    client.force_login(pi_a)
    page = client.get(reverse("monitoring:sign_casebook", args=[casebook.study_id]))
    assert Signature.MEANING in page.content.decode()

    response = _sign(client, casebook)

    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.signer, signature.printed_name, signature.meaning, signature.object_id) == (
        pi_a,
        "Jana Dvořáková",
        Signature.MEANING,
        None,
    )
    assert signature.content_hash == casebook_hash(casebook)
    assert signature.history.get().history_user == pi_a
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.SIGNED, user=pi_a).count() == 1
    page = _subject_page(client, casebook)
    signed_at = signature.signed_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    assert "Jana Dvořáková" in page and f"{signed_at} UTC" in page
    assert Signature.MEANING in page and "valid" in page and INVALID not in page


@pytest.mark.django_db
def test_a_wrong_password_signs_nothing_and_is_recorded(client, casebook, pi_a):
    client.force_login(pi_a)
    response = _sign(client, casebook, password="not-my-password")
    assert response.status_code == 200
    assert "The password is not correct: nothing was signed." in response.content.decode()
    assert not Signature.objects.exists()
    events = AccountEvent.objects.filter(user=pi_a).exclude(kind=AccountEvent.Kind.LOGIN)
    assert list(events.values_list("kind", flat=True)) == [AccountEvent.Kind.SIGNATURE_FAILED]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER])
def test_only_the_principal_investigator_signs(client, site_a, casebook, role):
    client.force_login(user_with_role(role, site_a))
    url = reverse("monitoring:sign_casebook", args=[casebook.study_id])
    assert client.get(url).status_code == 403
    assert _sign(client, casebook).status_code == 403
    assert not Signature.objects.exists()
    assert "Sign casebook" not in _subject_page(client, casebook)


@pytest.mark.django_db
def test_the_pi_of_another_site_gets_404(client, site_b, casebook):
    client.force_login(user_with_role(Role.INVESTIGATOR, site_b, principal_investigator=True))
    assert _sign(client, casebook).status_code == 404
    assert not Signature.objects.exists()


def _change_baseline(subject, by):
    record = Baseline.objects.get(subject=subject)
    record.weight_kg = Decimal("76.5")
    record_save(record, user=by, reason="weighed again")


def _change_visit(subject, by):
    visit = Visit.objects.filter(subject=subject).order_by("pk").first()
    visit.actual_date = visit.planned_date
    record_save(visit, user=by, reason="visit done")


def _change_lab_value(subject, by):
    value = LabValue.objects.get(panel__subject=subject)
    value.value = Decimal("90")
    lab_value_correct(value, user=by, reason="typo")


@pytest.mark.django_db
@pytest.mark.parametrize("change", [_change_baseline, _change_visit, _change_lab_value])
def test_any_change_of_the_casebook_invalidates_its_signature(
    client, casebook, investigator_a, pi_a, change
):
    client.force_login(pi_a)
    _sign(client, casebook)
    assert INVALID not in _subject_page(client, casebook)

    change(casebook, investigator_a)

    assert INVALID in _subject_page(client, casebook)


@pytest.mark.django_db
def test_a_form_signature_is_invalidated_only_by_a_change_of_that_form(
    client, casebook, investigator_a, pi_a
):
    baseline = Baseline.objects.get()
    client.force_login(pi_a)
    edit = reverse("crf:record_edit", args=[casebook.study_id, "baseline", baseline.pk])
    assert "Sign this form" in client.get(edit).content.decode()
    _sign(client, casebook, record=baseline)
    signature = Signature.objects.get()
    assert (signature.record, signature.meaning) == (baseline, Signature.FORM_MEANING)
    assert signature.content_hash == record_hash(baseline)

    _change_visit(casebook, investigator_a)
    page = _subject_page(client, casebook)
    assert "Baseline" in page and f"#{baseline.pk}" not in page and INVALID not in page

    _change_baseline(casebook, investigator_a)
    assert INVALID in _subject_page(client, casebook)


@pytest.mark.django_db
def test_a_locked_subject_can_still_be_signed(client, casebook, pi_a):
    lock_create(
        level=Lock.Level.SUBJECT,
        subject=casebook,
        reason="database lock",
        user=user_with_role(Role.DATA_MANAGER, None),
    )
    client.force_login(pi_a)
    assert _sign(client, casebook).status_code == 302
    assert Signature.objects.get().content_hash == casebook_hash(casebook)
