"""The access matrix: site scoping and role permissions on every subject-scoped URL."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from crf.models import Role, Subject
from monitoring.records import record_pointer
from safety.models import LabValue
from tests.factories import (
    baseline_for,
    course_for,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-ACC-01")


def _subject_scoped_url_names() -> list[str]:
    """Every named URL that takes a study_id, so a new subject page is covered automatically."""
    names = []

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name and "study_id" in p.pattern.converters:
                names.append(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns)
    return sorted(names)


SUBJECT_URLS = _subject_scoped_url_names()
REVIEW_URLS = ("monitoring:record_review", "monitoring:query_new", "monitoring:record_verify")
SIGNOFF_URLS = ("monitoring:lock_form", "monitoring:sign_form")
ALL_ROLES = list(Role)


def _url_kwargs(url_name: str, subject) -> dict:
    """Arguments naming one of `subject`'s own records for each subject-scoped URL. A new URL
    must be added here, so that the matrix covers it."""
    course = subject.courses.first()
    extra = {
        "crf:subject_detail": {},
        "crf:subject_edit": {},
        "crf:record_new": {"slug": "baseline"},
        "crf:record_edit": {"slug": "visit", "pk": subject.visits.first().pk},
        "crf:course": {"pk": course.pk},
        "crf:administration": {"pk": course.administrations.first().pk},
        "crf:infusion": {},
        "crf:infusion_action": {"action": "interrupt"},
        "mrd:subject": {},
        "safety:labs": {},
        "alerts:decision": {},
        "monitoring:subject_audit": {},
        "monitoring:subject_review": {},
        **{n: dict(zip(("ct", "pk"), record_pointer(course), strict=True)) for n in REVIEW_URLS},
        "monitoring:query_detail": {"pk": 1},
        "monitoring:verification_withdraw": {"pk": 1},
        "monitoring:lock_subject": {},
        "monitoring:sign_casebook": {},
        **{n: dict(zip(("ct", "pk"), record_pointer(course), strict=True)) for n in SIGNOFF_URLS},
        "safety:lab_value": {"pk": LabValue.objects.get(panel__subject=subject).pk},
        "safety:adverse_events": {},
        "safety:adverse_event_new": {},
        "safety:adverse_event": {"pk": subject.adverse_events.get().pk},
        "safety:sae_follow_up": {"pk": subject.adverse_events.get().pk},
        "exports:casebook_start": {},
    }
    if url_name not in extra:
        raise AssertionError(f"add {url_name} to _url_kwargs so the access matrix covers it")
    return {"study_id": subject.study_id, **extra[url_name]}


@pytest.fixture
def full_subject_b(subject_b, investigator_b):
    """Site B's subject with a record behind every kind of subject page."""
    baseline_for(subject_b, by=investigator_b)
    course_for(subject_b, by=investigator_b)
    day11_for(subject_b, by=investigator_b)
    infusion_started_for(subject_b, by=investigator_b)
    lab_panel_for(subject_b, by=investigator_b)
    serious_ae_for(subject_b, by=investigator_b)
    return subject_b


def test_the_matrix_covers_the_subject_pages():
    assert {
        "crf:subject_detail",
        "crf:subject_edit",
        "crf:record_edit",
        "crf:infusion_action",
    } <= set(SUBJECT_URLS)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("url_name", SUBJECT_URLS)
def test_a_user_of_site_a_gets_404_for_site_b_subject(
    client, site_a, full_subject_b, role, url_name
):
    subject_b = full_subject_b
    client.force_login(user_with_role(role, site_a))
    url = reverse(url_name, kwargs=_url_kwargs(url_name, subject_b))
    page = client.get(url)
    assert page.status_code == 404
    assert "There is no such page, or it is not available to you." in page.content.decode()
    assert subject_b.study_id not in page.content.decode()
    response = client.post(
        url,
        {
            "day1_date": "2026-01-01",
            "reason_for_change": "x",
            "interrupt-started_at": "2026-03-14T10:00",
            "interrupt-reason": "hepatic",
        },
    )
    assert response.status_code == 404
    assert Subject.objects.get(pk=subject_b.pk).day1_date == subject_b.day1_date
    assert not subject_b.infusions.get().interruptions.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ALL_ROLES)
def test_no_role_at_site_a_lists_site_b_subjects(client, site_a, subject_a, subject_b, role):
    client.force_login(user_with_role(role, site_a))
    response = client.get(reverse("crf:subject_list"))
    if role == Role.SPONSOR:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    body = response.content.decode()
    assert subject_a.study_id in body
    assert subject_b.study_id not in body


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.INVESTIGATOR, 200),
        (Role.MONITOR, 403),
        (Role.CENTRAL_LAB, 403),
        (Role.DATA_MANAGER, 403),
        (Role.SPONSOR, 404),
    ],
)
def test_only_investigators_open_the_edit_form_of_their_site(
    client, site_a, subject_a, role, expected
):
    client.force_login(user_with_role(role, site_a))
    url = reverse("crf:subject_edit", kwargs={"study_id": subject_a.study_id})
    assert client.get(url).status_code == expected


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MONITOR, Role.SPONSOR, Role.CENTRAL_LAB, Role.DATA_MANAGER])
def test_non_investigators_cannot_post_data_forms(client, site_a, subject_a, role):
    client.force_login(user_with_role(role, site_a))
    edit = reverse("crf:subject_edit", kwargs={"study_id": subject_a.study_id})
    response = client.post(
        edit, {"day1_date": "2026-01-05", "version": 1, "reason_for_change": "monitor edit"}
    )
    assert response.status_code in (403, 404)
    stored = Subject.objects.get(pk=subject_a.pk)
    assert (stored.day1_date, stored.version) == (subject_a.day1_date, 1)

    response = client.post(
        reverse("crf:subject_enrol"), {"site": site_a.pk, "day1_date": "2026-01-05"}
    )
    assert response.status_code == 403
    assert Subject.objects.count() == 1


@pytest.mark.django_db
def test_study_wide_roles_see_every_site(client, subject_a, subject_b):
    client.force_login(user_with_role(Role.DATA_MANAGER, None))
    for subject in (subject_a, subject_b):
        url = reverse("crf:subject_detail", kwargs={"study_id": subject.study_id})
        assert client.get(url).status_code == 200


@pytest.mark.verifies("UR-ACC-05")
@pytest.mark.django_db
def test_investigator_cannot_enrol_at_another_site_by_tampering(client, site_a, site_b):
    client.force_login(user_with_role(Role.INVESTIGATOR, site_a))
    response = client.post(
        reverse("crf:subject_enrol"), {"site": site_b.pk, "day1_date": "2026-01-05"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Subject.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(client, subject_a):
    url = reverse("crf:subject_detail", kwargs={"study_id": subject_a.study_id})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
def test_a_user_without_membership_sees_no_subject(client, subject_a):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    url = reverse("crf:subject_detail", kwargs={"study_id": subject_a.study_id})
    assert client.get(url).status_code == 404
    assert client.get(reverse("crf:subject_list")).status_code == 403
