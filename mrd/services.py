"""MRD samples (sites) and results (central laboratory): entry, checks, worklist."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from crf.access import Capability, sites_where, user_can
from crf.models import Subject
from crf.services import record_save
from crf.services.enrolment import visit_done
from crf.services.records import record_rules_register
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
    if result.result_class == mrd.ResultClass.NOT_EVALUABLE and not result.not_evaluable_reason:
        errors.setdefault("not_evaluable_reason", "Give the reason the sample is not evaluable.")
    return errors


RESULTS_REFUSED = "Only the central MRD laboratory enters MRD results."


def register() -> None:
    """MRD results in the write pipeline: the central laboratory's, checked by MR-1/MR-2's
    classes (called from MrdConfig.ready)."""
    # The sample of an assessment timepoint (D40, W11, W18) is the visit's data: the visit
    # took place that day, and is no longer overdue.
    record_rules_register(
        MrdSample,
        after_save=lambda sample, user: visit_done(
            sample.subject, sample.timepoint, sample.sampled_on, user, keep_a_date=True
        ),
    )
    record_rules_register(
        MrdResult,
        capability=Capability.ENTER_MRD_RESULTS,
        refused=RESULTS_REFUSED,
        hard_checks=result_errors,
    )


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
    if result._state.adding and not reason:
        reason = "result reported"
    return record_save(result, user=user, reason=reason, expected_version=expected_version)


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
