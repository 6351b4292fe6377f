"""The subject casebook: which forms a subject has, their status, and the timeline picture.

FORMS is the registry of the record forms the generic record view serves; `casebook_of` is the
selector the casebook page reads, in a bounded number of queries whatever the subject holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import models
from django.db.models import Max
from django.utils import timezone

from protocol import checks, schedule

from . import forms as crf_forms
from . import timeline as tl
from .editchecks import planned_visit_of
from .models import (
    Baseline,
    Day11Assessment,
    Death,
    EndOfStudy,
    FollowUpContact,
    IntrathecalAdministration,
    MrdTriggeredBlinatumomab,
    Relapse,
    ResponseAssessment,
    SalvageTherapy,
    SecondMalignancy,
    Subject,
    Transplant,
    TreatmentCourse,
    Visit,
)
from .services.infusion import InfusionSummary, infusion_summary
from .services.treatment import intrathecal_count


def _prepare_unscheduled_visit(visit: Visit, subject: Subject) -> None:
    taken = Visit.objects.filter(subject=subject, kind=Visit.Kind.UNSCHEDULED).count()
    visit.kind = Visit.Kind.UNSCHEDULED
    visit.code = f"U{taken + 1}"


@dataclass(frozen=True)
class FormSpec:
    title: str
    model: type[models.Model]
    form_class: type
    many: bool
    section: str
    new_form_class: type | None = None  # a different form for adding (unscheduled visits)
    prepare_new: Callable[[models.Model, Subject], None] | None = None
    can_add: bool = True

    @property
    def slug(self) -> str:
        return self.model.form_slug  # each record model says on which form it is entered


# Treatment given after induction: MRD-triggered blinatumomab (MR-4, MR-5), salvage therapy.
AFTER_INDUCTION = "After induction"

FORM_SPECS = [
    FormSpec("Baseline", Baseline, crf_forms.BaselineForm, False, "Baseline"),
    FormSpec(
        "Visit",
        Visit,
        crf_forms.VisitForm,
        True,
        "Schedule",
        new_form_class=crf_forms.UnscheduledVisitForm,
        prepare_new=_prepare_unscheduled_visit,
    ),
    FormSpec(
        "Treatment course",
        TreatmentCourse,
        crf_forms.TreatmentCourseForm,
        True,
        "Treatment",
    ),  # fmt: skip
    FormSpec(
        "Intrathecal administration",
        IntrathecalAdministration,
        crf_forms.IntrathecalForm,
        True,
        "Treatment",
    ),
    FormSpec("Day-11 assessment", Day11Assessment, crf_forms.Day11Form, False, "Induction I"),
    FormSpec(
        "Day-40 response",
        ResponseAssessment,
        crf_forms.ResponseForm,
        False,
        "Responses and outcomes",
    ),
    FormSpec("HSCT", Transplant, crf_forms.TransplantForm, True, "Responses and outcomes"),
    FormSpec("Relapse", Relapse, crf_forms.RelapseForm, True, "Responses and outcomes"),
    FormSpec(
        "Second malignancy",
        SecondMalignancy,
        crf_forms.SecondMalignancyForm,
        True,
        "Responses and outcomes",
    ),
    FormSpec("Death", Death, crf_forms.DeathForm, False, "Responses and outcomes"),
    FormSpec(
        "End of study",
        EndOfStudy,
        crf_forms.EndOfStudyForm,
        False,
        "Responses and outcomes",
    ),
    FormSpec(
        "Follow-up contact",
        FollowUpContact,
        crf_forms.FollowUpForm,
        True,
        "Responses and outcomes",
    ),
    FormSpec(
        "MRD-triggered blinatumomab",
        MrdTriggeredBlinatumomab,
        crf_forms.MrdTriggeredBlinatumomabForm,
        True,
        AFTER_INDUCTION,
    ),
    FormSpec(
        "Salvage therapy",
        SalvageTherapy,
        crf_forms.SalvageTherapyForm,
        True,
        AFTER_INDUCTION,
    ),
]
FORMS = {spec.slug: spec for spec in FORM_SPECS}


@dataclass
class FormEntry:
    spec: FormSpec
    records: list = field(default_factory=list)

    @property
    def status(self) -> str:
        return "entered" if self.records else "not entered"


@dataclass
class VisitRow:
    visit: Visit
    status: str


@dataclass
class Casebook:
    subject: Subject
    today: date
    study_day: int
    baseline: Baseline | None
    visits: list[VisitRow]
    sections: dict[str, list[FormEntry]]
    infusion: InfusionSummary
    intrathecal: tuple[int, int]
    timeline_svg: str
    age_at_consent: int | None = None
    timeline: tl.Timeline | None = None  # what timeline_svg draws (the PDF casebook lists it)


def visit_status(visit: Visit, today: date) -> str:
    if visit.kind == Visit.Kind.ASSESSMENT and visit.window_start:
        return schedule.visit_status(
            planned_visit_of(visit), today, visit.actual_date is not None, visit.missed
        ).value
    if visit.actual_date:
        return schedule.VisitStatus.DONE.value
    if visit.missed:
        return schedule.VisitStatus.MISSED.value
    return schedule.VisitStatus.PLANNED.value


def casebook_of(subject: Subject, today: date | None = None) -> Casebook:
    today = today or timezone.localdate()
    sections: dict[str, list[FormEntry]] = {}
    baseline = None
    for spec in FORM_SPECS:
        if spec.slug == "visit":
            continue
        records = list(
            spec.model.objects.filter(subject=subject, entered_in_error=False).select_related(
                "created_by", "updated_by"
            )
        )
        for record in records:
            record.subject = subject  # the page names records by their subject: no query each
        if spec.model is Baseline:
            baseline = records[0] if records else None
        sections.setdefault(spec.section, []).append(FormEntry(spec, records))
    visits = [
        VisitRow(v, visit_status(v, today))
        for v in Visit.objects.filter(subject=subject, entered_in_error=False).select_related(
            "created_by", "updated_by"
        )
    ]
    courses = [e for e in sections["Treatment"] if e.spec.model is TreatmentCourse][0].records
    summary = infusion_summary(subject)
    casebook = Casebook(
        subject=subject,
        today=today,
        study_day=schedule.study_day(subject.day1_date, today),
        baseline=baseline,
        visits=visits,
        sections=sections,
        infusion=summary,
        intrathecal=intrathecal_count(subject),
        timeline_svg="",
    )
    casebook.timeline = _timeline(casebook, courses)
    casebook.timeline_svg = tl.render_svg(casebook.timeline)
    if baseline and subject.screening_id:
        casebook.age_at_consent = checks.age_at_consent(
            baseline.year_of_birth, subject.screening.consent_date
        )
    return casebook


def _day(subject: Subject, value: date | datetime) -> float:
    """Study day of a date, or of a moment as a fraction of its day."""
    if isinstance(value, datetime):
        local = timezone.localtime(value)
        fraction = (local.hour * 60 + local.minute) / (24 * 60)
        return schedule.study_day(subject.day1_date, local.date()) + fraction
    return schedule.study_day(subject.day1_date, value)


def phase_spans(
    subject: Subject, courses: list[TreatmentCourse]
) -> list[tuple[str, float, float | None]]:
    """(name, first study day, last study day or None if ongoing) of each treatment phase as
    entered; before any course is entered, Pre-Induction as the protocol plans it."""
    ordered = sorted(courses, key=lambda c: c.start_date)
    spans = []
    for index, course in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        last = _day(subject, following.start_date) - 1 if following else None
        spans.append((course.get_phase_display(), _day(subject, course.start_date), last))
    if not spans:
        pre = schedule.phase(schedule.PhaseName.PRE_INDUCTION)
        spans.append((pre.name.value, pre.first_day, pre.last_day))
    return spans


def _timeline(casebook: Casebook, courses: list[TreatmentCourse]) -> tl.Timeline:
    subject = casebook.subject
    phases = [tl.PhaseBar(name, first, last) for name, first, last in phase_spans(subject, courses)]
    visits = tuple(
        tl.VisitMark(
            row.visit.code,
            _day(subject, row.visit.actual_date or row.visit.planned_date),
            row.status,
        )
        for row in casebook.visits
        if row.visit.actual_date or row.visit.planned_date
    )
    infusions, interruptions = [], []
    for cycle in casebook.infusion.cycles:
        record = cycle.record
        end = _day(subject, record.ended_at) if record.ended_at else None
        infusions.append(
            tl.Span(f"Blinatumomab cycle {record.cycle}", _day(subject, record.started_at), end)
        )
        for stop in record.interruptions.all():
            if stop.entered_in_error:
                continue
            interruptions.append(
                tl.Span(
                    f"Interruption ({stop.get_reason_display()})",
                    _day(subject, stop.started_at),
                    _day(subject, stop.ended_at) if stop.ended_at else None,
                )
            )
    outcomes = []
    for entry in casebook.sections.get("Responses and outcomes", []):
        for record in entry.records:
            marker = _outcome_marker(subject, record)
            if marker:
                outcomes.append(marker)
    therapies = [
        _therapy_span(subject, record)
        for entry in casebook.sections.get(AFTER_INDUCTION, [])
        for record in entry.records
    ]
    return tl.Timeline(
        today_day=casebook.study_day,
        phases=tuple(phases),
        visits=visits,
        infusions=tuple(infusions),
        interruptions=tuple(interruptions),
        outcomes=tuple(outcomes),
        therapies=tuple(sorted(therapies, key=lambda t: (t.first_day, t.label))),
    )


def _therapy_span(subject: Subject, record) -> tl.TherapySpan:
    """A treatment after induction as a bar: MRD-triggered blinatumomab (MR-4, MR-5) or a
    salvage therapy, to its end date or, while it runs, to today."""
    end = _day(subject, record.end_date) if record.end_date else None
    if isinstance(record, MrdTriggeredBlinatumomab):
        cycles = f"{record.cycles} cycle{'s' if record.cycles != 1 else ''}"
        label = f"Blinatumomab ({cycles})"
        return tl.TherapySpan(label, _day(subject, record.start_date), end, "mrd-blinatumomab")
    label = f"{record.regimen_name} ({record.get_indication_display().lower()})"
    return tl.TherapySpan(label, _day(subject, record.start_date), end, "salvage")


def _outcome_marker(subject: Subject, record) -> tl.OutcomeMark | None:
    if isinstance(record, ResponseAssessment):
        return tl.OutcomeMark(record.response, _day(subject, record.assessed_on), "response")
    if isinstance(record, Transplant):
        return tl.OutcomeMark("HSCT", _day(subject, record.transplant_date), "hsct")
    if isinstance(record, Relapse):
        label = f"{record.get_kind_display()} relapse"
        return tl.OutcomeMark(label, _day(subject, record.relapse_date), "relapse")
    if isinstance(record, Death):
        return tl.OutcomeMark("Death", _day(subject, record.death_date), "death")
    if isinstance(record, EndOfStudy):
        return tl.OutcomeMark("End of study", _day(subject, record.end_date), "end")
    if isinstance(record, SecondMalignancy):
        return tl.OutcomeMark(record.diagnosis, _day(subject, record.diagnosis_date), "other")
    return None


def last_unscheduled_number(subject: Subject) -> int:
    return (
        Visit.objects.filter(subject=subject, kind=Visit.Kind.UNSCHEDULED).aggregate(n=Max("id"))[
            "n"
        ]
        or 0
    )
