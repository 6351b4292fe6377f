"""MRD samples (sites) and results (central laboratory): entry, checks, worklist."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from alerts.marking import subject_changed
from audit.services import audited_save
from crf.access import Capability, sites_where, user_can
from crf.models import Subject
from crf.services import record_save
from protocol import checks, mrd

from .models import MrdResult, MrdSample


def _accession(subject: Subject, timepoint: str) -> str:
    taken = MrdSample.objects.filter(subject=subject, timepoint=timepoint).count()
    base = f"{subject.study_id}-{timepoint}"
    return base if taken == 0 else f"{base}-{taken + 1}"


def sample_record(
    *, subject: Subject, timepoint: str, material: str, sampled_on: date, user
) -> MrdSample:
    """A site records a sample sent to the central laboratory; it joins the lab's worklist."""
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject.pk)
        sample = MrdSample(
            subject=subject,
            timepoint=timepoint,
            material=material,
            sampled_on=sampled_on,
            accession=_accession(subject, timepoint),
        )
        return record_save(sample, user=user)


def result_errors(result: MrdResult) -> dict[str, str]:
    """The hard checks of an MRD result: protocol/mrd.py's rules, and the report after sampling."""
    errors = dict(mrd.result_errors(result.as_protocol()))
    if result.report_date and result.sample.sampled_on:
        order = checks.dates_order_error(
            result.sample.sampled_on, result.report_date, "sampling", "report"
        )
        if order:
            errors.setdefault("report_date", order)
    return errors


def result_save(
    result: MrdResult,
    *,
    user,
    reason: str = "",
    expected_version: int | None = None,
    **_ignored,
) -> MrdResult:
    """Enter or correct a result (central laboratory only). A correction keeps the earlier
    version in the audit trail with its reason."""
    if not user_can(user, Capability.ENTER_MRD_RESULTS, result.sample.subject.site):
        raise PermissionDenied("Only the central MRD laboratory enters MRD results.")
    errors = result_errors(result)
    if errors:
        raise ValidationError(errors)
    if result._state.adding and not reason:
        reason = "result reported"
    with transaction.atomic():
        saved = audited_save(result, user=user, reason=reason, expected_version=expected_version)
        subject_changed(result.sample.subject)
    return saved


def samples_visible_to(user) -> QuerySet[MrdSample]:
    """Samples of the subjects the user may see: every site for the central laboratory."""
    return MrdSample.objects.filter(
        subject__site__in=sites_where(user, Capability.VIEW_SUBJECTS), entered_in_error=False
    )


def worklist(user) -> QuerySet[MrdSample]:
    """Samples awaiting a result, oldest first (the central laboratory's worklist)."""
    if not user_can(user, Capability.ENTER_MRD_RESULTS):
        raise PermissionDenied("The worklist is the central laboratory's.")
    has_result = MrdResult.objects.filter(sample=OuterRef("pk"), entered_in_error=False)
    return (
        samples_visible_to(user)
        .filter(~Exists(has_result))
        .select_related("subject", "subject__site")
        .order_by("sampled_on", "id")
    )


def days_waiting(sample: MrdSample, today: date | None = None) -> int:
    return ((today or timezone.localdate()) - sample.sampled_on).days
