"""Corrections through the browser need a reason, and never silently overwrite another user."""

import pytest
from django.urls import reverse

from crf.models import Subject

pytestmark = pytest.mark.verifies("UR-REC-04")


def _edit_url(subject):
    return reverse("crf:subject_edit", kwargs={"study_id": subject.study_id})


@pytest.mark.django_db
def test_correction_without_reason_is_refused_naming_the_field(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        _edit_url(subject_a), {"day1_date": "2026-03-03", "version": 1, "reason_for_change": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["reason_for_change"] == ["This field is required."]
    assert Subject.objects.get(pk=subject_a.pk).day1_date.isoformat() == "2026-03-02"


@pytest.mark.django_db
def test_correction_with_reason_is_saved_and_shown_in_history(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        _edit_url(subject_a),
        {"day1_date": "2026-03-03", "version": 1, "reason_for_change": "wrong day copied"},
        follow=True,
    )
    stored = Subject.objects.get(pk=subject_a.pk)
    assert (stored.day1_date.isoformat(), stored.version) == ("2026-03-03", 2)
    page = response.content.decode()
    assert "wrong day copied" in page
    assert "2026-03-03" in page


@pytest.mark.django_db
def test_unchanged_submission_saves_nothing(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = client.post(
        _edit_url(subject_a), {"day1_date": "2026-03-02", "version": 1, "reason_for_change": "x"}
    )
    assert "No value was changed" in response.content.decode()
    assert subject_a.history.count() == 1


@pytest.mark.django_db
def test_second_of_two_concurrent_edits_is_refused_and_keeps_its_input(
    client, subject_a, investigator_a
):
    from tests.factories import user_with_role

    colleague = user_with_role("investigator", subject_a.site, username="colleague")
    other = client.__class__()
    other.force_login(colleague)
    client.force_login(investigator_a)
    # Both open the form at version 1; the colleague saves first.
    other.post(
        _edit_url(subject_a),
        {"day1_date": "2026-03-04", "version": 1, "reason_for_change": "colleague fix"},
    )
    response = client.post(
        _edit_url(subject_a),
        {"day1_date": "2026-03-05", "version": 1, "reason_for_change": "my fix"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"{colleague.get_full_name()} changed this record" in page
    assert 'value="2026-03-05"' in page  # my input is kept
    assert "my fix" in page
    assert "study day 1 = 2026-03-04" in page  # the saved value is shown beside it
    stored = Subject.objects.get(pk=subject_a.pk)
    assert (stored.day1_date.isoformat(), stored.version) == ("2026-03-04", 2)
    assert not stored.history.filter(history_change_reason="my fix").exists()
