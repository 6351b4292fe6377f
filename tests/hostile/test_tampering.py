"""Tampered requests from site A's staff aimed at site B: extra or replaced hidden fields
(site, subject, ids), site B's record ids in site A's URLs, links to site B's lab values and
interruptions, site B's queries, records and locks; and forged versions. Site B's data is never
written: the answer is a 404, a 403 or a form error, or the write lands at site A only."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse

from crf.models import DrugAdministration, InfusionInterruption, Role
from crf.records import subject_of
from crf.services.infusion import infusion_interrupt
from monitoring.queries import query_open
from monitoring.records import record_pointer
from mrd.services import sample_record
from safety.models import LabValue
from tests.audit.routes import (
    AE,
    CASES,
    Submission,
    World,
    _local,
    alert_for,
    build_world,
)
from tests.factories import (
    PASSWORD,
    baseline_for,
    course_for,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

from .probe import changed_tables, history_high_water, history_rows_since, table_counts

pytestmark = pytest.mark.verifies("UR-ACC-01", "UR-ACC-05")


@pytest.fixture
def world(site_a, investigator_a, subject_a):
    return build_world(site_a, investigator_a, subject_a)


@pytest.fixture
def world_b(world, site_b, investigator_b, subject_b):
    return World(
        site=site_b, investigator=investigator_b, subject=subject_b, central_lab=world.central_lab
    )


@pytest.fixture
def site_b_records(world_b):
    """Site B's subject 2-01 with a record of every kind a tampered id could point at."""
    w = world_b
    baseline = baseline_for(w.subject, by=w.investigator)
    course = course_for(w.subject, by=w.investigator)
    day11_for(w.subject, by=w.investigator)
    cycle = infusion_started_for(w.subject, by=w.investigator)
    interruption = infusion_interrupt(
        record=cycle,
        started_at=_local(14, 9)[1],
        reason="hepatic",
        reason_other="",
        user=w.investigator,
    )
    lab_value = lab_panel_for(w.subject, by=w.investigator).values.get()
    event = serious_ae_for(w.subject, by=w.investigator)
    sample = sample_record(
        subject=w.subject,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=w.investigator,
    )
    monitor_b = user_with_role(Role.MONITOR, w.site, username="mon.b")
    query = query_open(record=baseline, field_name="weight_kg", text="check", user=monitor_b)
    return {
        "baseline": baseline,
        "administration": DrugAdministration.objects.filter(course=course).first(),
        "interruption": interruption,
        "lab_value": lab_value,
        "event": event,
        "sample": sample,
        "query": query,
        "alert": alert_for(w),
    }


def site_of(history_row) -> int | None:
    """The site a history row's record belongs to (None for records outside any site)."""
    record = history_row.instance
    try:
        return subject_of(record).site_id
    except (TypeError, ObjectDoesNotExist, AttributeError):
        return getattr(record, "site_id", None)


def rows_written_at(site, marks) -> list[str]:
    return [
        f"{type(row).__name__} {row.history_type} id={row.id}"
        for row in history_rows_since(marks)
        if site_of(row) == site.pk
    ]


def _prefix(data: dict) -> str:
    first = next(iter(data), "")
    return first.split("-")[0] + "-" if "-" in first else ""


def _pointing_at_b(data: dict, w: World, b: dict) -> dict:
    """Hidden fields a tamperer adds, each aimed at site B (with the form's prefix as well)."""
    aimed = {
        "site": w.site.pk,
        "site_id": w.site.pk,
        "subject": w.subject.pk,
        "subject_id": w.subject.pk,
        "study_id": w.subject.study_id,
        "sample": b["sample"].pk,
        "sample_id": b["sample"].pk,
        "course": b["administration"].course_id,
        "panel": b["lab_value"].panel_id,
        "adverse_event": b["event"].pk,
        "infusion": b["interruption"].infusion_id,
        "lab_values": b["lab_value"].pk,
        "interruptions": b["interruption"].pk,
        "id": b["baseline"].pk,
        "pk": b["baseline"].pk,
        "created_by": w.investigator.pk,
        "entered_in_error": "on",
    }
    prefix = _prefix(data)
    if prefix:
        aimed.update({f"{prefix}{k}": v for k, v in list(aimed.items())})
    tampered = {**aimed, **data}  # the form's own fields keep their valid values...
    if "site" in data:
        tampered["site"] = w.site.pk  # ...except the site itself, replaced by site B
    return tampered


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hidden_fields_aimed_at_site_b_never_write_there(
    client, world, world_b, site_b_records, case
):
    submission = case.arrange(world)
    client.force_login(case.writer_user(world))
    client.raise_request_exception = False
    data = _pointing_at_b(submission.data, world_b, site_b_records)
    marks = history_high_water()
    before = table_counts()
    response = Submission(submission.url, data, multipart_file=submission.multipart_file).post(
        client
    )
    assert response.status_code < 500
    assert rows_written_at(world_b.site, marks) == []
    if case.id in {"enrol", "screen_failure"}:  # the site itself was replaced: refused
        assert response.status_code == 200
        assert "site" in response.context["form"].errors
        assert changed_tables(before) == {}


def _url_with_b_ids(w: World, b: dict) -> list[tuple[str, str, dict]]:
    """(role, URL under site A's subject 1-01 but with a site B id, POST data)."""
    a = w.subject.study_id
    baseline_ct, baseline_pk = record_pointer(b["baseline"])
    return [
        ("investigator", reverse("crf:record_edit", args=[a, "baseline", baseline_pk]),
         {"weight_kg": "90", "version": "1", "reason_for_change": "x"}),
        ("investigator", reverse("crf:administration", args=[a, b["administration"].pk]),
         {"administered_dose": "1", "administered_on": "2026-03-07", "version": "1"}),
        ("investigator", reverse("safety:lab_value", args=[a, b["lab_value"].pk]),
         {"value": "90", "unit": "U/L", "uln": "40", "version": "1", "reason_for_change": "x"}),
        ("investigator", reverse("safety:adverse_event", args=[a, b["event"].pk]),
         {**AE, "version": "1", "reason_for_change": "x"}),
        ("investigator", reverse("safety:sae_follow_up", args=[a, b["event"].pk]),
         {"reported_at": "2026-03-20T10:00", "report": "x"}),
        ("investigator", reverse("monitoring:query_detail", args=[a, b["query"].pk]),
         {"action": "answer", "answer-answer": "done"}),
        ("investigator", reverse("alerts:detail", args=[b["alert"].pk]),
         {"comment": "x", "close": "on"}),
        ("investigator", reverse("crf:record_new", args=[b_id(b), "day11"]),
         {"assessed_on": "2026-03-12", "marrow_blasts_percent": "30"}),
        ("investigator", reverse("mrd:subject", args=[b_id(b)]),
         {"timepoint": "D40", "material": "bone_marrow", "sampled_on": "2026-04-10"}),
        ("investigator", reverse("safety:labs", args=[b_id(b)]),
         {"sampled_at": "2026-03-14T08:00", "local_lab": "x", "alt_value": "1",
          "alt_unit": "U/L", "alt_uln": "40"}),
        ("monitor", reverse("monitoring:record_verify", args=[a, baseline_ct, baseline_pk]),
         {"scope": "record"}),
        ("monitor", reverse("monitoring:query_new", args=[a, baseline_ct, baseline_pk]),
         {"text": "x"}),
        ("monitor", reverse("monitoring:query_detail", args=[a, b["query"].pk]),
         {"action": "close", "close-text": "x"}),
        ("data_manager", reverse("monitoring:lock_form", args=[a, baseline_ct, baseline_pk]),
         {"reason": "x"}),
        ("pi", reverse("monitoring:sign_form", args=[a, baseline_ct, baseline_pk]),
         {"password": PASSWORD}),
        ("pi", reverse("monitoring:sign_casebook", args=[b_id(b)]), {"password": PASSWORD}),
    ]  # fmt: skip


def b_id(b: dict) -> str:
    return b["baseline"].subject.study_id


TAMPERED_URLS = [
    "baseline of B", "administration of B", "lab value of B", "AE of B", "SAE follow-up of B",
    "answer B's query", "close B's alert", "day 11 for B", "MRD sample for B", "labs for B",
    "verify B's baseline", "query B's baseline", "close B's query", "lock B's baseline",
    "sign B's baseline", "sign B's casebook",
]  # fmt: skip


def _actor(role: str, w: World):
    if role == "investigator":
        return w.investigator
    if role == "pi":
        return user_with_role(Role.INVESTIGATOR, w.site, principal_investigator=True, username="pi")
    if role == "data_manager":
        # A data manager of site A only: site B's records are out of reach.
        return user_with_role(Role.DATA_MANAGER, w.site, username="dm.a")
    return user_with_role(Role.MONITOR, w.site, username="mon.a")


@pytest.mark.django_db
@pytest.mark.parametrize("index", range(len(TAMPERED_URLS)), ids=TAMPERED_URLS)
def test_site_b_ids_in_site_a_urls_are_not_found(client, world, world_b, site_b_records, index):
    role, url, data = _url_with_b_ids(world, site_b_records)[index]
    client.force_login(_actor(role, world))
    client.raise_request_exception = False
    marks = history_high_water()
    before = table_counts()
    response = client.post(url, data)
    assert response.status_code in (403, 404), (url, response.status_code)
    assert rows_written_at(world_b.site, marks) == []
    assert changed_tables(before) == {}


@pytest.mark.django_db
def test_an_adverse_event_cannot_link_site_b_lab_values_or_interruptions(
    client, world, world_b, site_b_records
):
    lab_panel_for(world.subject, by=world.investigator)
    client.force_login(world.investigator)
    client.raise_request_exception = False
    url = reverse("safety:adverse_event_new", args=[world.subject.study_id])
    for field, pk in (
        ("lab_values", site_b_records["lab_value"].pk),
        ("interruptions", site_b_records["interruption"].pk),
    ):
        before = table_counts()
        response = client.post(url, {**AE, field: [pk]})
        assert response.status_code == 200, field
        assert field in response.context["form"].errors
        assert changed_tables(before) == {}


@pytest.mark.django_db
def test_a_decision_about_a_site_b_lab_value_writes_nothing_at_site_b(
    client, world, world_b, site_b_records
):
    client.force_login(world.investigator)
    client.raise_request_exception = False
    value = site_b_records["lab_value"]
    url = reverse("alerts:decision", args=[world.subject.study_id])
    marks = history_high_water()
    response = client.post(
        f"{url}?about=lab:{value.pk}&kind=hep_justification",
        {"kind": "hep_justification", "decided_on": "2026-03-16", "details": "tampered"},
    )
    assert response.status_code < 500
    assert rows_written_at(world_b.site, marks) == []


@pytest.mark.django_db
def test_a_site_a_data_manager_cannot_lock_site_b_from_the_locks_page(
    client, world, world_b, site_b_records
):
    client.force_login(_actor("data_manager", world))
    client.raise_request_exception = False
    url = reverse("monitoring:locks")
    before = table_counts()
    for data in (
        {"level": "site", "site-site": world_b.site.pk, "site-reason": "tampered"},
        {"level": "subject", "subject-study_id": world_b.subject.study_id, "subject-reason": "x"},
    ):
        response = client.post(url, data)
        assert response.status_code in (200, 403, 404), data
    assert changed_tables(before) == {}


@pytest.mark.django_db
def test_a_central_lab_result_posted_with_another_sample_id_lands_on_the_url_sample(
    client, world, world_b, site_b_records
):
    case = next(c for c in CASES if c.id == "mrd_result_new")
    submission = case.arrange(world)
    client.force_login(world.central_lab)
    marks = history_high_water()
    data = {**submission.data, "sample": site_b_records["sample"].pk, "method": "ngs"}
    response = client.post(submission.url, data)
    assert response.status_code == 302
    assert rows_written_at(world_b.site, marks) == []
    assert not site_b_records["sample"].results.exists()


# --- Forged versions -------------------------------------------------------------------------

FORGED_VERSIONS = ["0", "2", "99", "-1", "9" * 30, "1.5", "abc", "1\x00", " 1 ", "١"]
EDIT_CASES = [c for c in CASES if c.arrange.__name__.endswith("_edit") or c.id == "administration"]


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
@pytest.mark.parametrize("case", EDIT_CASES, ids=lambda c: c.id)
def test_a_forged_version_is_refused_and_saves_nothing(client, world, case):
    submission = case.arrange(world)
    client.force_login(case.writer_user(world))
    client.raise_request_exception = False
    accepted = []
    for forged in FORGED_VERSIONS:
        before = table_counts()
        response = client.post(submission.url, {**submission.data, "version": forged})
        assert response.status_code == 200 or forged.strip() in {"1", "١"}, (forged, response)
        if response.status_code != 200:
            accepted.append(forged)
            continue
        assert changed_tables(before) == {}, forged
        break_ = response.context["form"].errors
        assert break_, forged
    # " 1 " and Arabic-Indic "١" are the stored version 1 written differently: Django reads
    # them as 1, which is the truth; nothing else may pass.
    assert set(accepted) <= {" 1 ", "١"}, accepted


@pytest.mark.verifies("UR-REC-04")
@pytest.mark.django_db
def test_a_stale_version_names_the_change_and_keeps_the_input(client, world):
    case = next(c for c in CASES if c.id == "baseline_edit")
    submission = case.arrange(world)
    client.force_login(world.investigator)
    first = client.post(submission.url, submission.data)
    assert first.status_code == 302
    before = table_counts()
    again = client.post(submission.url, {**submission.data, "weight_kg": "77"})
    assert again.status_code == 200
    assert "after you opened it" in again.content.decode()
    assert changed_tables(before) == {}


def _content_type_of(record) -> int:
    return ContentType.objects.get_for_model(type(record)).pk


@pytest.mark.django_db
def test_a_record_pointer_with_a_mismatched_content_type_is_not_found(
    client, world, world_b, site_b_records
):
    """ct of one model with the pk of another subject's record of a different model."""
    client.force_login(_actor("monitor", world))
    lab_value = site_b_records["lab_value"]
    for ct in (_content_type_of(lab_value), _content_type_of(InfusionInterruption()), 1, 999999):
        url = reverse("monitoring:record_verify", args=[world.subject.study_id, ct, lab_value.pk])
        assert client.post(url, {"scope": "record"}).status_code == 404, ct
    assert not LabValue.objects.filter(pk=lab_value.pk, version__gt=1).exists()
