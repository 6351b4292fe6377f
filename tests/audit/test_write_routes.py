"""Every write route of the eCRF writes its audit rows: the history row of each record created or
changed, with the user who posted, the reason given and the new value; a change bumps the
record's version. Routes come from tests/audit/routes.py; every URL of crf, mrd, safety and
alerts must be classified there as a write route (with a case here) or a read-only one."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AccountEvent
from alerts.models import Alert, ProtocolDecision
from crf.models import (
    Baseline,
    BlinatumomabInfusion,
    Day11Assessment,
    DrugAdministration,
    InfusionDoseChange,
    InfusionInterruption,
    MrdTriggeredBlinatumomab,
    Premedication,
    SalvageTherapy,
    Screening,
    Subject,
    TreatmentCourse,
    Visit,
)
from mrd.models import MrdResult, MrdSample, MrdUpload
from safety.models import AdverseEvent, LabPanel, LabValue, SaeFollowUp, SiteLabRange
from tests.factories import PASSWORD, course_for, lab_panel_for

from .routes import (
    CASES,
    CASES_BY_ID,
    READ_ONLY_ROUTES,
    WRITE_ROUTES,
    Submission,
    build_world,
    history_high_water,
    url_names_of_apps,
)

pytestmark = pytest.mark.verifies("UR-AUD-01")


@pytest.fixture
def world(site_a, investigator_a, subject_a):
    return build_world(site_a, investigator_a, subject_a)


# --- The route table is complete -----------------------------------------------------------


def test_every_url_of_the_data_apps_is_classified():
    names = set(url_names_of_apps())
    unclassified = sorted(names - set(WRITE_ROUTES) - set(READ_ONLY_ROUTES))
    assert unclassified == [], (
        "classify these URLs in tests/audit/routes.py (WRITE_ROUTES with a case, or "
        f"READ_ONLY_ROUTES): {unclassified}"
    )
    stale = sorted((set(WRITE_ROUTES) | set(READ_ONLY_ROUTES)) - names)
    assert stale == [], f"no such URL any more: {stale}"
    assert not set(WRITE_ROUTES) & set(READ_ONLY_ROUTES)


def test_every_write_route_has_a_case_and_every_case_its_expected_audit():
    assert sorted({case.route for case in CASES}) == sorted(WRITE_ROUTES)
    assert sorted(EXPECTED) == sorted(case.id for case in CASES)
    assert {"start", "dose", "interrupt", "restart", "premedication", "end"} == {
        case.id.removeprefix("infusion_") for case in CASES if case.route == "crf:infusion_action"
    }


def test_the_infusion_cases_cover_every_action_of_the_view():
    from crf.views import INFUSION_ACTIONS

    covered = {c.id.removeprefix("infusion_") for c in CASES if c.route == "crf:infusion_action"}
    assert covered == set(INFUSION_ACTIONS)


# --- What each case must write -------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """History rows expected of `model`: `count` rows of `type` with `reason`, written by the
    user who posted, whose fields have `values` (a dict, or a function of the submission)."""

    model: type
    type: str
    reason: str | None | Callable[[Submission], str]
    values: dict | Callable[[Submission], dict] = field(default_factory=dict)
    count: int | None = 1  # None: one or more (the alerts the rules raise on the day)
    by_system: bool = False  # written by the application (an alert), not by the user


def _at(day: int, hour: int) -> datetime.datetime:
    from .routes import _local

    return _local(day, hour)[1]


def _upload_reason(sub: Submission) -> str:
    upload = sub.notes["upload"]
    return f"uploaded in batch.csv ({upload.sha256[:12]})"


EXPECTED: dict[str, list[Row]] = {
    "enrol": [
        Row(Screening, "+", "screened", {"screening_number": "S1-002", "outcome": "enrolled"}),
        Row(Subject, "+", "enrolled", {"study_id": "1-02", "day1_date": datetime.date(2026, 3, 2)}),
        Row(Visit, "+", "planned at enrolment", {"kind": "assessment"}, count=4),
    ],
    "screen_failure": [
        Row(
            Screening,
            "+",
            "screened",
            {
                "screening_number": "S1-002",
                "outcome": "screen_failure",
                "failure_reason": "CD19-negative blasts",
                "cd19_positive": False,
            },
        ),
    ],
    "subject_edit": [
        Row(
            Subject,
            "~",
            "wrong day copied",
            {"study_id": "1-01", "day1_date": datetime.date(2026, 3, 3), "version": 2},
        ),
    ],
    "baseline_new": [
        Row(
            Baseline,
            "+",
            None,
            {"weight_kg": Decimal("75.0"), "bsa_m2": Decimal("1.88"), "version": 1},
        ),
    ],
    "day11_new": [
        Row(Day11Assessment, "+", None, {"marrow_blasts_percent": Decimal("30"), "version": 1}),
        Row(
            Visit,
            "~",
            "assessment recorded on 2026-03-12",
            {"code": "D11", "actual_date": datetime.date(2026, 3, 12), "version": 2},
        ),
    ],
    "visit_new": [
        Row(Visit, "+", None, {"code": "U1", "name": "fever", "kind": "unscheduled"}),
    ],
    "mrd_blinatumomab_new": [
        Row(
            MrdTriggeredBlinatumomab,
            "+",
            None,
            {"cycles": 2, "mrd_after_value": Decimal("0.00012"), "version": 1},
        ),
    ],
    "salvage_new": [
        Row(SalvageTherapy, "+", None, {"regimen_other": "hyper-CVAD", "version": 1}),
    ],
    "course_new": [
        Row(TreatmentCourse, "+", None, {"phase": "pre_induction", "bsa_m2": Decimal("1.88")}),
        Row(
            DrugAdministration,
            "+",
            "planned from the protocol",
            {"administered_dose": None},
            count=13,
        ),
    ],
    "baseline_edit": [
        Row(Baseline, "~", "scale recalibrated", {"weight_kg": Decimal("76.0"), "version": 2}),
    ],
    "day11_edit": [
        Row(
            Day11Assessment,
            "~",
            "blast count re-read",
            {"marrow_blasts_percent": Decimal("35"), "version": 2},
        ),
    ],
    "visit_edit": [
        Row(
            Visit,
            "~",
            "visit did not take place",
            {"code": "W11", "missed": True, "missed_reason": "patient in ICU", "version": 2},
        ),
    ],
    "administration": [
        Row(
            DrugAdministration,
            "~",
            "First entry of the planned record's data: Administered dose, Administered on",
            {
                "drug": "DAU",
                "protocol_day": 6,
                "administered_dose": Decimal("84.60"),
                "administered_on": datetime.date(2026, 3, 7),
                "version": 2,
            },
        ),
    ],
    "infusion_start": [
        Row(BlinatumomabInfusion, "+", "infusion started", {"cycle": 1, "started_at": _at(12, 9)}),
        Row(
            InfusionDoseChange,
            "+",
            "infusion started",
            {"kind": "start", "ug_per_day": Decimal("9"), "at": _at(12, 9)},
        ),
    ],
    "infusion_dose": [
        Row(
            InfusionDoseChange,
            "+",
            "dose step up",
            {"kind": "step_up", "ug_per_day": Decimal("28"), "at": _at(19, 9)},
        ),
    ],
    "infusion_interrupt": [
        Row(
            InfusionInterruption,
            "+",
            "infusion interrupted",
            {"reason": "hepatic", "started_at": _at(14, 9), "ended_at": None},
        ),
    ],
    "infusion_restart": [
        Row(
            InfusionInterruption,
            "~",
            "infusion restarted",
            {"started_at": _at(14, 9), "ended_at": _at(16, 9), "version": 2},
        ),
        Row(
            InfusionDoseChange,
            "+",
            "infusion restarted",
            {"kind": "restart", "ug_per_day": Decimal("9"), "at": _at(16, 9)},
        ),
    ],
    "infusion_premedication": [
        Row(
            Premedication,
            "+",
            "premedication recorded",
            {"given_at": _at(12, 8), "dexamethasone_mg": Decimal("20"), "before": "start"},
        ),
    ],
    "infusion_end": [
        Row(
            BlinatumomabInfusion,
            "~",
            "infusion ended: new_cycle",
            {"end_reason": "new_cycle", "ended_at": _at(17, 9), "version": 2},
        ),
    ],
    "mrd_sample": [
        Row(MrdSample, "+", None, {"accession": "1-01-D40", "timepoint": "D40"}),
        # the day-40 marrow is the day-40 visit's data: the visit took place that day
        Row(
            Visit,
            "~",
            "assessment recorded on 2026-04-10",
            {"actual_date": datetime.date(2026, 4, 10)},
        ),
    ],
    "mrd_result_new": [
        Row(
            MrdResult,
            "+",
            "result reported",
            {"method": "qpcr", "value": Decimal("0.00012"), "version": 1},
        ),
    ],
    "mrd_result_edit": [
        Row(MrdResult, "~", "transcription", {"value": Decimal("0.00023"), "version": 2}),
    ],
    # The upload itself only keeps the file for its preview (mrd.MrdUpload, not audited).
    "mrd_upload": [],
    "mrd_upload_commit": [
        Row(
            MrdResult,
            "+",
            _upload_reason,
            lambda sub: {"sample_id": sub.notes["first"].pk, "value": Decimal("0.00012")},
        ),
        Row(
            MrdResult,
            "~",
            lambda sub: f"re-quantified ({_upload_reason(sub)})",
            lambda sub: {
                "sample_id": sub.notes["second"].pk,
                "value": Decimal("0.00023"),
                "version": 2,
            },
        ),
    ],
    "lab_panel": [
        Row(LabPanel, "+", None, {"local_lab": "IHBT"}),
        Row(LabValue, "+", None, {"test": "alt", "value": Decimal("240"), "grade": 3}),
        # the rules evaluated at once, so that the lab page says what the panel raised
        Row(Alert, "+", "raised by the protocol rules", {}, count=None, by_system=True),
    ],
    "lab_ranges": [
        Row(
            SiteLabRange,
            "+",
            "IHBT ranges 2026",
            {"test": "alt", "unit": "U/L", "lln": Decimal(0), "uln": Decimal(40)},
        ),
    ],
    "lab_value_edit": [
        Row(LabValue, "~", "typo", {"value": Decimal("90"), "grade": 1, "version": 2}),
    ],
    "adverse_event_new": [
        Row(AdverseEvent, "+", None, {"verbatim": "ALT up", "grade": 3, "serious": False}),
    ],
    "adverse_event_edit": [
        Row(
            AdverseEvent,
            "~",
            "verbatim completed from the source",
            {"verbatim": "ALT 6 x ULN", "version": 2},
        ),
    ],
    "sae_follow_up": [
        Row(
            SaeFollowUp,
            "+",
            None,
            lambda sub: {
                "adverse_event_id": sub.notes["event"].pk,
                "report": "Recovered, discharged on day 19.",
            },
        ),
    ],
    "decision": [
        Row(
            ProtocolDecision,
            "+",
            None,
            lambda sub: {
                "kind": "hep_justification",
                "about": f"lab:{LabValue.objects.get().pk}",
                "decided_on": datetime.date(2026, 3, 16),
            },
        ),
    ],
    "alert_acknowledge": [
        Row(
            Alert,
            "~",
            "acknowledged: visit booked for next week",
            {"status": "acknowledged", "comment": "visit booked for next week", "version": 2},
        ),
    ],
    "alert_close": [
        Row(
            Alert,
            "~",
            "closed: patient withdrew: nothing more to do",
            {"status": "closed", "comment": "patient withdrew: nothing more to do", "version": 2},
        ),
    ],
}


def _form_errors(response) -> str:
    context = getattr(response, "context", None) or {}
    forms = [context.get(name) for name in ("form", "forms") if context.get(name)]
    return f"status {response.status_code}; form errors: {forms!r}"


def _describe(rows, fields) -> list:
    return [
        (h.history_type, h.history_change_reason, {f: getattr(h, f, "?") for f in fields})
        for h in rows
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_write_route_writes_its_audit_rows(client, world, case):
    submission = case.arrange(world)
    writer = case.writer_user(world)
    client.force_login(writer)
    version_before = submission.record.version if submission.record is not None else None
    marks = history_high_water()

    response = submission.post(client)

    assert response.status_code == 302, _form_errors(response)
    written = {}
    for history_model, mark in marks.items():
        rows = list(history_model.objects.filter(history_id__gt=mark).order_by("history_id"))
        if rows:
            written[history_model.instance_type] = rows
    expected = EXPECTED[case.id]
    assert sorted(m.__name__ for m in written) == sorted({r.model.__name__ for r in expected}), (
        "history tables written"
    )
    for model, rows in written.items():
        wanted = [r for r in expected if r.model is model]
        if all(r.count is not None for r in wanted):
            assert len(rows) == sum(r.count for r in wanted), _describe(rows, ["id"])
        for row in wanted:
            values = row.values(submission) if callable(row.values) else row.values
            reason = row.reason(submission) if callable(row.reason) else row.reason
            matching = [
                h
                for h in rows
                if h.history_type == row.type
                and all(getattr(h, name) == value for name, value in values.items())
            ]
            if row.count is None:
                assert matching, (row, _describe(rows, values))
            else:
                assert len(matching) == row.count, (row, _describe(rows, values))
            for history in matching:
                assert history.history_user == (None if row.by_system else writer)
                assert history.history_change_reason == reason
    if submission.record is not None:
        submission.record.refresh_from_db()
        assert submission.record.version == version_before + 1


@pytest.mark.verifies("UR-MRD-02")
@pytest.mark.django_db
def test_mrd_upload_keeps_the_file_for_its_preview_and_saves_no_result(client, world):
    submission = CASES_BY_ID["mrd_upload"].arrange(world)
    client.force_login(world.central_lab)
    response = submission.post(client)
    upload = MrdUpload.objects.get()
    assert response["Location"] == reverse("mrd:upload_preview", args=[upload.pk])
    assert (upload.uploaded_by, upload.status, upload.filename) == (
        world.central_lab,
        MrdUpload.Status.READY,
        "batch.csv",
    )
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-MRD-02")
@pytest.mark.django_db
def test_mrd_upload_commit_marks_the_file_committed(client, world):
    submission = CASES_BY_ID["mrd_upload_commit"].arrange(world)
    client.force_login(world.central_lab)
    submission.post(client)
    upload = MrdUpload.objects.get()
    assert (upload.status, upload.rows_created, upload.rows_corrected) == ("committed", 1, 1)
    created = MrdResult.objects.get(sample=submission.notes["first"])
    assert (created.created_by, created.updated_by, created.version) == (
        world.central_lab,
        world.central_lab,
        1,
    )


# --- Accounts: a password change is an account event -----------------------------------------


@pytest.mark.verifies("UR-ACC-03")
@pytest.mark.django_db
def test_password_change_records_an_account_event(client, investigator_a):
    client.force_login(investigator_a)
    events_before = AccountEvent.objects.count()
    new_password = "another-horse-staple-42"
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    events = list(AccountEvent.objects.order_by("id")[events_before:])
    assert [(e.kind, e.username) for e in events] == [(AccountEvent.Kind.PASSWORD_CHANGED, "inv.a")]
    investigator_a.refresh_from_db()
    assert investigator_a.check_password(new_password)
    # The hash itself is never copied into the user's history.
    assert "password" not in {f.name for f in type(investigator_a).history.model._meta.fields}


@pytest.mark.verifies("UR-ACC-03")
@pytest.mark.django_db
def test_refused_password_change_records_nothing(client, investigator_a):
    client.force_login(investigator_a)
    events_before = AccountEvent.objects.count()
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "wrong",
            "new_password1": "x-y-z-1234567",
            "new_password2": "x-y-z-1234567",
        },
    )
    assert response.status_code == 200
    assert AccountEvent.objects.count() == events_before
    investigator_a.refresh_from_db()
    assert investigator_a.check_password(PASSWORD)


# --- Read-only routes write nothing, even on POST ----------------------------------------------


def _read_only_url(name: str, world) -> str:
    """Arguments for each read-only route (a new one must be added here)."""
    sid = world.subject.study_id
    if name == "crf:course":
        return reverse(name, args=[sid, course_for(world.subject, by=world.investigator).pk])
    if name in ("mrd:upload_preview", "mrd:upload_cancel"):
        from mrd.upload import upload_receive

        received = upload_receive(filename="x.csv", raw=b"accession\n", user=world.central_lab)
        return reverse(name, args=[received.pk])
    subject_scoped = {"crf:subject_detail", "crf:infusion", "safety:adverse_events"}
    if name in subject_scoped:
        return reverse(name, args=[sid])
    return reverse(name)


@pytest.mark.django_db
@pytest.mark.parametrize("name", READ_ONLY_ROUTES)
def test_post_to_a_read_only_route_writes_no_history(client, world, name):
    lab_panel_for(world.subject, by=world.investigator)
    url = _read_only_url(name, world)
    lab_pages = {"mrd:worklist", "mrd:upload_template", "mrd:upload_preview", "mrd:upload_cancel"}
    user = world.central_lab if name in lab_pages else world.investigator
    client.force_login(user)
    marks = history_high_water()
    response = client.post(url, {"day1_date": "2026-01-01", "reason_for_change": "x"})
    # A cancelled upload goes back to the upload page (the file set aside, nothing written).
    assert response.status_code in ((302,) if name == "mrd:upload_cancel" else (200, 404, 405))
    written = {
        m.instance_type.__name__
        for m, mark in marks.items()
        if m.objects.filter(history_id__gt=mark).exists()
    }
    assert written == set()
