"""Sites, memberships, screening and enrolment."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from audit.services import audited_save
from protocol import checks, identifiers, schedule

from ..access import Capability, forget_memberships, user_can
from ..models import Membership, ProtocolVersion, Screening, Site, Subject, Visit
from .records import records_plan, subjects_changed


def site_create(*, number: int, name: str, city: str, user) -> Site:
    return audited_save(Site(number=number, name=name, city=city), user=user, reason="site opened")


def membership_grant(*, user, role: str, site: Site | None, granted_by) -> Membership:
    membership = audited_save(
        Membership(user=user, role=role, site=site), user=granted_by, reason="role granted"
    )
    forget_memberships(user)
    return membership


def protocol_version_create(
    *, number: int, title: str, effective_date: date, blinatumomab_rule: str, user
) -> ProtocolVersion:
    version = ProtocolVersion(
        number=number,
        title=title,
        effective_date=effective_date,
        blinatumomab_rule=blinatumomab_rule,
    )
    return audited_save(version, user=user, reason="protocol version entered")


def protocol_version_for(day1: date) -> ProtocolVersion:
    """rules §3: the version in force on the subject's study day 12."""
    versions = {v.number: v for v in ProtocolVersion.objects.all()}
    if not versions:
        raise ValidationError("No protocol version is entered yet; the data manager enters them.")
    try:
        chosen = schedule.version_for_subject([v.as_protocol() for v in versions.values()], day1)
    except ValueError:
        day12 = schedule.date_of_study_day(day1, schedule.INDUCTION_I_FIRST_DAY)
        raise ValidationError(
            {"day1_date": f"No protocol version is in force on study day 12 ({day12})."}
        ) from None
    return versions[chosen.number]


def _next_sequence(model, site: Site) -> int:
    last = model.objects.filter(site=site).aggregate(last=Max("sequence"))["last"] or 0
    return last + 1


def subject_screen(
    *,
    site: Site,
    consent_date: date,
    consent_version: str,
    eligibility: dict[str, bool],
    user,
    day1_date: date | None = None,
    failure_reason: str = "",
) -> Screening:
    """Record informed consent and the eligibility checklist.

    An eligible patient is enrolled at once: the subject gets the next study ID of the site,
    study day 1, the protocol version and the planned visits. An ineligible patient is recorded
    as a screen failure with the reason and gets no study ID. Everything or nothing is saved.
    """
    if not user_can(user, Capability.ENTER_CLINICAL_DATA, site):
        raise PermissionDenied("Only the site's investigators can screen and enrol there.")
    missing = [name for name in Screening.ELIGIBILITY_FIELDS if name not in eligibility]
    if missing:
        raise ValidationError({name: "Answer yes or no." for name in missing})
    eligible = all(eligibility[name] for name in Screening.ELIGIBILITY_FIELDS)
    errors = {}
    if eligible and day1_date is None:
        errors["day1_date"] = "An eligible patient is enrolled: enter study day 1."
    if eligible and day1_date is not None:
        order = checks.dates_order_error(consent_date, day1_date, "informed consent", "study day 1")
        if order:
            errors["day1_date"] = order
    if not eligible and not failure_reason.strip():
        errors["failure_reason"] = (
            "The patient is not eligible: give the reason for the screen failure."
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        Site.objects.select_for_update().get(pk=site.pk)
        sequence = _next_sequence(Screening, site)
        screening = audited_save(
            Screening(
                site=site,
                sequence=sequence,
                screening_number=identifiers.screening_number(site.number, sequence),
                consent_date=consent_date,
                consent_version=consent_version,
                outcome=Screening.Outcome.ENROLLED
                if eligible
                else Screening.Outcome.SCREEN_FAILURE,
                failure_reason="" if eligible else failure_reason.strip(),
                **{name: eligibility[name] for name in Screening.ELIGIBILITY_FIELDS},
            ),
            user=user,
            reason="screened",
        )
        if eligible:
            _enrol(screening=screening, day1_date=day1_date, user=user)
    return screening


def _enrol(*, screening: Screening, day1_date: date, user) -> Subject:
    site = screening.site
    version = protocol_version_for(day1_date)
    sequence = _next_sequence(Subject, site)
    subject = audited_save(
        Subject(
            site=site,
            screening=screening,
            sequence=sequence,
            study_id=identifiers.study_id(site.number, sequence),
            day1_date=day1_date,
            protocol_version=version,
            enrolled_by=user,
        ),
        user=user,
        reason="enrolled",
    )
    visits_plan(subject=subject, user=user)
    subjects_changed([subject.pk])
    return subject


def visits_plan(*, subject: Subject, user) -> list[Visit]:
    """Put the protocol's assessment visits on the subject's calendar (rules §1)."""
    settings = subject.protocol_version.settings if subject.protocol_version_id else None
    planned = schedule.planned_visits(subject.day1_date, settings or schedule.DEFAULT_SETTINGS)
    visits = [
        Visit(
            subject=subject,
            kind=Visit.Kind.ASSESSMENT,
            code=p.visit.code.value,
            name=p.visit.name,
            planned_date=p.target_date,
            window_start=p.window_start,
            window_end=p.window_end,
        )
        for p in planned
    ]
    return records_plan(visits, user=user, reason="planned at enrolment")


def visit_done(subject: Subject, code: str, on, user, *, keep_a_date: bool = False) -> None:
    """The assessment visit `code` took place on `on` (its data came in: the assessment, or an
    MRD sample of its timepoint); with `keep_a_date`, a date already recorded stays."""
    visit = Visit.objects.filter(subject=subject, code=code, entered_in_error=False).first()
    if visit is None or visit.actual_date == on or (keep_a_date and visit.actual_date):
        return
    visit.actual_date = on
    audited_save(visit, user=user, reason=f"assessment recorded on {on.isoformat()}")
