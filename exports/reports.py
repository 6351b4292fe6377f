"""Selectors of the live study report: the sites a user's report covers, and the records of
those sites loaded into protocol.reports dataclasses in a fixed number of queries.

The report's numbers are computed in protocol/ (reports.py, statistics.py, mrd.py, safety.py);
nothing here decides a clinical question. No study ID, birth date or other identifier leaves
this module: subjects are keyed by their database id only while the rows are gathered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, Prefetch, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import ProtocolDecision
from crf.access import report_sites as access_report_sites
from crf.models import (
    Baseline,
    EndOfStudy,
    FollowUpContact,
    MrdTriggeredBlinatumomab,
    Relapse,
    SalvageTherapy,
    SecondMalignancy,
    Site,
    Subject,
    Transplant,
    TreatmentCourse,
    Visit,
)
from mrd.models import MrdResult, MrdSample
from protocol import checks, mrd, reports
from safety.services import PERIOD_INFUSION, PERIOD_STUDY, ae_summary_of

PERIODS = (PERIOD_INFUSION, PERIOD_STUDY)
_NOT_WITHDRAWN = {EndOfStudy.Reason.COMPLETED, EndOfStudy.Reason.DEATH}


def report_sites(user) -> QuerySet[Site]:
    """The sites whose data the user's reports cover (crf.access.report_sites)."""
    return access_report_sites(user)


def _valid(record):
    """A one-to-one clinical record, or None when it is missing or entered in error."""
    return record if record is not None and not record.entered_in_error else None


def _one_to_one(subject: Subject, name: str):
    try:
        return _valid(getattr(subject, name))
    except ObjectDoesNotExist:
        return None


def _latest_dates(model, field: str, subject_ids: list[int]) -> dict[int, date]:
    rows = (
        model.objects.filter(subject_id__in=subject_ids, entered_in_error=False)
        .exclude(**{f"{field}__isnull": True})
        .values("subject_id")
        .annotate(latest=Max(field))
    )
    return {row["subject_id"]: row["latest"] for row in rows}


def _latest_therapy_dates(model, subject_ids: list[int]) -> dict[int, date]:
    """The latest day of a treatment after induction: its end, or its start while it runs."""
    rows = (
        model.objects.filter(subject_id__in=subject_ids, entered_in_error=False)
        .values("subject_id")
        .annotate(latest=Max(Coalesce("end_date", "start_date")))
    )
    return {row["subject_id"]: row["latest"] for row in rows}


def _deciding_mrd(subject_ids: list[int]) -> dict[int, dict[mrd.Timepoint, mrd.MrdResult]]:
    """Per subject and cohort timepoint, the result that decides there (MR-3), as the MRD
    response page (mrd.cohort.cohort_for) chooses it: results in sampling order."""
    results: dict[tuple[int, str], list[mrd.MrdResult]] = defaultdict(list)
    for result in (
        MrdResult.objects.filter(
            sample__subject_id__in=subject_ids,
            sample__timepoint__in=[t.value for t in mrd.COHORT_TIMEPOINTS],
            entered_in_error=False,
            sample__entered_in_error=False,
        )
        .select_related("sample")
        .order_by("sample__sampled_on", "sample_id", "method")
    ):
        results[(result.sample.subject_id, result.sample.timepoint)].append(result.as_protocol())
    deciding: dict[int, dict[mrd.Timepoint, mrd.MrdResult]] = defaultdict(dict)
    for (subject_id, timepoint), rows in results.items():
        chosen = mrd.endpoint_result(rows)
        if chosen is not None:
            deciding[subject_id][mrd.Timepoint(timepoint)] = chosen
    return deciding


def _without_error(model, order: str) -> Prefetch:
    related = {
        Relapse: "relapses",
        Transplant: "transplants",
        SecondMalignancy: "second_malignancies",
    }[model]
    return Prefetch(related, queryset=model.objects.filter(entered_in_error=False).order_by(order))


@dataclass(frozen=True)
class Treatment:
    """What a patient received after induction, as the report counts it."""

    mrd_blinatumomab_referred: bool
    mrd_blinatumomab_given: bool
    salvage_indications: tuple[str, ...]


def patient_records(subjects: QuerySet[Subject]) -> list[reports.PatientRecord]:
    """One identifier-free PatientRecord per subject, in a fixed number of queries."""
    subjects = list(
        subjects.select_related(
            "site", "screening", "baseline", "day11", "day40", "death", "end_of_study"
        )
        .prefetch_related(
            _without_error(Relapse, "relapse_date"),
            _without_error(Transplant, "transplant_date"),
            _without_error(SecondMalignancy, "diagnosis_date"),
        )
        .order_by("site__number", "sequence")
    )
    ids = [subject.pk for subject in subjects]
    last_dates = [
        _latest_dates(FollowUpContact, "last_known_alive", ids),
        _latest_dates(Visit, "actual_date", ids),
        _latest_dates(TreatmentCourse, "start_date", ids),
        _latest_dates(MrdSample, "sampled_on", ids),
        _latest_therapy_dates(MrdTriggeredBlinatumomab, ids),
        _latest_therapy_dates(SalvageTherapy, ids),
    ]
    deciding = _deciding_mrd(ids)
    # MR-4, MR-5: the referral (a decision with cycles planned) and the treatment given (a
    # course recorded) are counted apart.
    referred = set(
        ProtocolDecision.objects.filter(
            subject_id__in=ids,
            kind=ProtocolDecision.Kind.MRD_REFERRAL,
            blinatumomab_cycles__gt=0,
            entered_in_error=False,
        ).values_list("subject_id", flat=True)
    )
    given = set(
        MrdTriggeredBlinatumomab.objects.filter(
            subject_id__in=ids, entered_in_error=False
        ).values_list("subject_id", flat=True)
    )
    salvage: dict[int, list[str]] = defaultdict(list)
    for subject_id, indication in (
        SalvageTherapy.objects.filter(subject_id__in=ids, entered_in_error=False)
        .order_by("start_date", "pk")
        .values_list("subject_id", "indication")
    ):
        salvage[subject_id].append(SalvageTherapy.Indication(indication).label)
    return [
        _record(
            s,
            last_dates,
            deciding.get(s.pk, {}),
            Treatment(s.pk in referred, s.pk in given, tuple(salvage.get(s.pk, ()))),
        )
        for s in subjects
    ]


def _record(
    subject: Subject,
    last_dates: Sequence[dict[int, date]],
    deciding: dict[mrd.Timepoint, mrd.MrdResult],
    after_induction: Treatment,
) -> reports.PatientRecord:
    baseline: Baseline | None = _one_to_one(subject, "baseline")
    day11 = _one_to_one(subject, "day11")
    day40 = _one_to_one(subject, "day40")
    death = _one_to_one(subject, "death")
    end = _one_to_one(subject, "end_of_study")
    relapses = tuple(
        reports.RelapseEvent(on=r.relapse_date, kind=r.get_kind_display())
        for r in subject.relapses.all()
    )
    transplants = tuple(
        reports.TransplantEvent(
            on=t.transplant_date,
            in_first_cr=t.in_first_cr,
            mrd_triggered=t.reason == Transplant.Reason.MRD_TRIGGERED,
        )
        for t in subject.transplants.all()
    )
    malignancies = tuple(m.diagnosis_date for m in subject.second_malignancies.all())
    # The last date known alive: DEFINITIONS["last_known_alive"]
    known_alive = [subject.day1_date, *(d[subject.pk] for d in last_dates if subject.pk in d)]
    known_alive += [r.on for r in relapses] + [t.on for t in transplants] + list(malignancies)
    known_alive += [record.assessed_on for record in (day11, day40) if record is not None]
    if end is not None and end.reason != EndOfStudy.Reason.DEATH:
        known_alive.append(end.end_date)
    consent = subject.screening.consent_date if subject.screening_id else subject.day1_date
    return reports.PatientRecord(
        site=subject.site.number,
        day1=subject.day1_date,
        last_known_alive=max(known_alive),
        age_years=checks.age_at_consent(baseline.year_of_birth, consent) if baseline else None,
        sex=baseline.sex if baseline else None,
        leukocytes=baseline.leukocytes if baseline else None,
        marrow_blasts_percent=baseline.marrow_blasts_percent if baseline else None,
        immunophenotype=baseline.immunophenotype if baseline else None,
        karyotype=baseline.karyotype if baseline else None,
        ph_like=baseline.ph_like if baseline else None,
        ikzf1plus=baseline.ikzf1plus if baseline else None,
        kmt2a_rearranged=baseline.kmt2a_rearranged if baseline else None,
        cns_status=baseline.cns_status if baseline else None,
        igtr_target=baseline.igtr_target_available if baseline else None,
        day11_blasts_percent=day11.marrow_blasts_percent if day11 else None,
        day40_response=day40.response if day40 else None,
        withdrawn_on=end.end_date if end and end.reason not in _NOT_WITHDRAWN else None,
        mrd=tuple((timepoint, deciding.get(timepoint)) for timepoint in mrd.COHORT_TIMEPOINTS),
        mrd_triggered_blinatumomab_referred=after_induction.mrd_blinatumomab_referred,
        mrd_triggered_blinatumomab_given=after_induction.mrd_blinatumomab_given,
        salvage_indications=after_induction.salvage_indications,
        transplants=transplants,
        relapses=relapses,
        second_malignancies=malignancies,
        death_on=death.death_date if death else None,
    )


def adverse_events(subjects: QuerySet[Subject], period: str) -> reports.AdverseEvents:
    """Table 2 for `subjects`, by the AE summary page's own selector (safety.services)."""
    if period not in PERIODS:
        raise ValueError(f"Unknown period {period!r}; choose one of {', '.join(PERIODS)}.")
    rows, treated = ae_summary_of(subjects, period)
    return reports.AdverseEvents(period=period, treated=treated, rows=tuple(rows))


TABLE_1_CHOICES = reports.Table1Choices(
    immunophenotypes=Baseline.Immunophenotype.choices,
    karyotypes=Baseline.Karyotype.choices,
    cns_statuses=Baseline.CnsStatus.choices,
)


def study_report(
    sites: Sequence[Site],
    *,
    period: str = PERIOD_INFUSION,
    as_of: date | None = None,
    small_groups_counts_only: bool = True,
) -> reports.StudyReport:
    """The live study report of `sites` (the caller has decided the user may see them); for a
    group smaller than settings.REPORT_SMALL_GROUP_PATIENTS, its counts only (unless the
    caller is the operator's command line, `small_groups_counts_only=False`)."""
    subjects = Subject.objects.filter(site__in=[site.pk for site in sites])
    report = reports.study_report(
        patient_records(subjects),
        sites=[(site.number, site.city) for site in sorted(sites, key=lambda s: s.number)],
        choices=TABLE_1_CHOICES,
        adverse_events=adverse_events(subjects, period),
        as_of=as_of or timezone.localdate(),
    )
    minimum = settings.REPORT_SMALL_GROUP_PATIENTS
    if small_groups_counts_only and 0 < report.enrolment.total < minimum:
        return reports.counts_only(report, minimum)
    return report
