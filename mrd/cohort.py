"""MRD read for people: a subject's results with their derived classes, and the cohort table."""

from __future__ import annotations

from dataclasses import dataclass

from crf.access import report_sites
from crf.models import Subject
from protocol import mrd

from .models import MrdResult, MrdSample

COHORT_TIMEPOINTS = (mrd.Timepoint.D40, mrd.Timepoint.W11, mrd.Timepoint.W18)


@dataclass(frozen=True)
class ResultRow:
    sample: MrdSample
    result: MrdResult
    shown_value: str  # the value, or "< sensitivity" for a negative, in lab notation
    response: str
    negativity: bool  # MR-1
    failure: bool  # MR-2


def _shown(result: MrdResult) -> str:
    if result.value is not None:
        return mrd.format_mrd(result.value)
    if result.result_class == mrd.ResultClass.NEGATIVE and result.sensitivity is not None:
        return f"negative (sensitivity {mrd.format_mrd(result.sensitivity)})"
    if result.result_class == mrd.ResultClass.PNQ:
        return "positive, not quantifiable"
    return result.get_result_class_display()


def result_rows(subject: Subject, samples) -> list[ResultRow]:
    rows = []
    for sample in samples:
        for result in sample.results.all():
            if result.entered_in_error:
                continue
            facts = result.as_protocol()
            rows.append(
                ResultRow(
                    sample=sample,
                    result=result,
                    shown_value=_shown(result),
                    response=mrd.RESPONSE_LABELS[mrd.response_class(facts)],
                    negativity=mrd.is_mrd_negativity(facts),
                    failure=mrd.is_mrd_failure(facts),
                )
            )
    return rows


def _sites(user):
    return set(report_sites(user).values_list("pk", flat=True))


def cohort_for(user) -> list[mrd.CohortRow]:
    """For D40, W11 and W18: negative / PNQ / quantifiable among evaluable patients (in CR with
    an IG/TR target; those without an evaluable result at the timepoint count as missing), for
    the sites the user sees."""
    subjects = list(
        Subject.objects.filter(site__in=_sites(user)).select_related("baseline", "day40")
    )
    results: dict[tuple[int, str], list[mrd.MrdResult]] = {}
    for result in (
        MrdResult.objects.filter(
            sample__subject__in=subjects, entered_in_error=False, sample__entered_in_error=False
        )
        .select_related("sample")
        .order_by("sample__sampled_on", "sample_id", "method")
    ):
        key = (result.sample.subject_id, result.sample.timepoint)
        results.setdefault(key, []).append(result.as_protocol())
    per_subject = []
    for subject in subjects:
        in_cr = hasattr(subject, "day40") and subject.day40.response in mrd.HAEMATOLOGICAL_CR
        target = hasattr(subject, "baseline") and subject.baseline.igtr_target_available
        for timepoint in COHORT_TIMEPOINTS:
            deciding = mrd.endpoint_result(results.get((subject.pk, timepoint.value), []))
            per_subject.append((timepoint, deciding, bool(in_cr and target)))
    return mrd.cohort_table(per_subject)
