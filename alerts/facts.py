"""A subject's facts for protocol/rules.py, loaded in a fixed, small number of queries."""

from __future__ import annotations

from dataclasses import replace

from django.utils import timezone
from django.utils.text import capfirst

from crf.models import (
    Baseline,
    BlinatumomabInfusion,
    Death,
    EndOfStudy,
    InfusionDoseChange,
    InfusionInterruption,
    MrdTriggeredBlinatumomab,
    Relapse,
    ResponseAssessment,
    SalvageTherapy,
    Subject,
    Visit,
)
from crf.records import subject_path
from mrd.models import MrdResult
from protocol import ctcae, ctcae_terms, rules, safety, schedule
from safety.models import AdverseEvent, LabValue

from .models import ProtocolDecision


def _local(moment):
    """Times as the site reads them (its zone): messages name its clock, and a date is the
    site's date (study days, the day of a sample)."""
    return timezone.localtime(moment) if moment is not None else None


def _times_uln(value: LabValue):
    if value.uln in (None, 0):
        return None
    test = ctcae.LabTest(value.test)
    uln = ctcae.to_standard(test, value.uln, value.unit)
    return value.standard_value / uln if uln else None


def _ae_category(event: AdverseEvent) -> str:
    if event.term.meddra_code == ctcae_terms.CYTOKINE_RELEASE_SYNDROME.meddra_code:
        return "crs"
    category = safety.ae_category(event.term.term, event.term.soc)
    return {
        safety.NEUROLOGIC: "neurological",
        safety.HEPATIC: "hepatic",
        safety.INFECTION: "infection",
    }.get(category, "other")


def lab_key(value_pk: int) -> str:
    """The key of a lab value in a finding: "lab:13" is lab value 13 (RECORD_KINDS below)."""
    return f"lab:{value_pk}"


def subject_facts(subject: Subject) -> rules.SubjectFacts:
    return subjects_facts([subject])[subject.pk]


def _group(rows, key) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return grouped


def subjects_facts(subjects: list[Subject]) -> dict[int, rules.SubjectFacts]:
    """The facts of many subjects in a fixed number of queries (one per kind of record)."""
    ids = [s.pk for s in subjects]
    cycles = _group(
        BlinatumomabInfusion.objects.filter(subject_id__in=ids, entered_in_error=False)
        .prefetch_related("dose_changes", "interruptions")
        .order_by("cycle"),
        lambda c: c.subject_id,
    )
    labs = _group(
        LabValue.objects.filter(
            panel__subject_id__in=ids, entered_in_error=False, panel__entered_in_error=False
        ).select_related("panel"),
        lambda v: v.panel.subject_id,
    )
    aes = _group(
        AdverseEvent.objects.filter(subject_id__in=ids, entered_in_error=False).select_related(
            "term"
        ),
        lambda e: e.subject_id,
    )
    results = _group(
        MrdResult.objects.filter(
            sample__subject_id__in=ids, entered_in_error=False, sample__entered_in_error=False
        )
        .select_related("sample")
        .order_by("sample__sampled_on", "id"),
        lambda r: r.sample.subject_id,
    )
    visits = _group(
        Visit.objects.filter(subject_id__in=ids, entered_in_error=False), lambda v: v.subject_id
    )
    decisions = _group(
        ProtocolDecision.objects.filter(subject_id__in=ids, entered_in_error=False),
        lambda d: d.subject_id,
    )
    relapses = _group(
        Relapse.objects.filter(
            subject_id__in=ids, entered_in_error=False, kind=Relapse.Kind.HAEMATOLOGICAL
        ).values_list("subject_id", "relapse_date"),
        lambda row: row[0],
    )
    ends = _group(
        [
            *EndOfStudy.objects.filter(subject_id__in=ids, entered_in_error=False).values_list(
                "subject_id", "end_date"
            ),
            *Death.objects.filter(subject_id__in=ids, entered_in_error=False).values_list(
                "subject_id", "death_date"
            ),
        ],
        lambda row: row[0],
    )
    courses = _group(
        MrdTriggeredBlinatumomab.objects.filter(
            subject_id__in=ids, entered_in_error=False
        ).values_list("subject_id", "start_date"),
        lambda row: row[0],
    )
    salvage = _group(
        SalvageTherapy.objects.filter(subject_id__in=ids, entered_in_error=False).values_list(
            "subject_id", "start_date"
        ),
        lambda row: row[0],
    )
    targets = dict(
        Baseline.objects.filter(subject_id__in=ids, entered_in_error=False).values_list(
            "subject_id", "igtr_target_available"
        )
    )
    return {
        s.pk: replace(
            _facts(
                s,
                cycles.get(s.pk, []),
                labs.get(s.pk, []),
                aes.get(s.pk, []),
                results.get(s.pk, []),
                visits.get(s.pk, []),
                decisions.get(s.pk, []),
            ),
            relapses=tuple(sorted(day for _, day in relapses.get(s.pk, []))),
            ended_on=min((day for _, day in ends.get(s.pk, [])), default=None),
            igtr_target=targets.get(s.pk),
            mrd_blinatumomab_started=tuple(sorted(d for _, d in courses.get(s.pk, []))),
            salvage_started=tuple(sorted(d for _, d in salvage.get(s.pk, []))),
        )
        for s in subjects
    }


def _facts(subject, cycles, labs, aes, results, visits, decisions) -> rules.SubjectFacts:
    version = subject.protocol_version
    day11 = subject.day11 if hasattr(subject, "day11") else None
    response = subject.day40.response if hasattr(subject, "day40") else None
    return rules.SubjectFacts(
        study_id=subject.study_id,
        day1=subject.day1_date,
        blinatumomab_rule=version.blinatumomab_rule if version else "BD-2",
        day11_blasts=day11.marrow_blasts_percent if day11 else None,
        settings=version.settings if version else schedule.DEFAULT_SETTINGS,
        cycles=tuple(_cycle(c) for c in cycles),
        labs=tuple(
            rules.LabFact(
                record=lab_key(v.pk),
                test=v.test,
                sampled_at=_local(v.panel.sampled_at),
                grade=v.grade,
                times_uln=_times_uln(v),
                entered_at=_local(v.created_at),
            )
            for v in labs
        ),
        aes=tuple(
            rules.AeFact(
                record=f"ae:{e.pk}",
                category=_ae_category(e),
                grade=e.grade,
                onset=e.onset_date,
                end=e.end_date,
                serious=e.serious,
                awareness_at=_local(e.awareness_at),
                sponsor_notified_at=_local(e.sponsor_notified_at),
                entered_at=_local(e.created_at),
            )
            for e in aes
        ),
        mrd=tuple(
            rules.MrdFact(
                record=f"mrd:{r.pk}",
                timepoint=r.sample.timepoint,
                study_day=schedule.study_day(subject.day1_date, r.sample.sampled_on),
                result=r.as_protocol(),
            )
            for r in results
        ),
        day40_response=response,
        visits=tuple(
            rules.VisitFact(
                record=f"visit:{v.pk}",
                code=v.code,
                name=v.name,
                window_end=v.window_end,
                has_data=v.actual_date is not None,
                missed=v.missed,
            )
            for v in visits
        ),
        decisions=tuple(
            rules.DecisionFact(f"decision:{d.pk}", d.kind, d.decided_on, d.about) for d in decisions
        ),
    )


def _cycle(cycle: BlinatumomabInfusion) -> rules.CycleFact:
    return rules.CycleFact(
        record=f"cycle:{cycle.pk}",
        cycle=cycle.cycle,
        start=_local(cycle.started_at),
        end=_local(cycle.ended_at),
        end_reason=cycle.end_reason,
        dose_changes=tuple(
            rules.DoseChangeFact(f"dose:{d.pk}", _local(d.at), d.ug_per_day, d.kind)
            for d in sorted(cycle.dose_changes.all(), key=lambda d: d.at)
            if not d.entered_in_error
        ),
        interruptions=tuple(
            rules.InterruptionFact(
                f"interruption:{i.pk}", _local(i.started_at), _local(i.ended_at), i.reason
            )
            for i in sorted(cycle.interruptions.all(), key=lambda i: i.started_at)
            if not i.entered_in_error
        ),
    )


def subject_for_evaluation(subject_id: int) -> Subject:
    return (
        Subject.objects.select_related("protocol_version", "day11", "day40", "site")
        .filter(pk=subject_id)
        .first()
    )


def now():
    return timezone.localtime()


# The record each kind of key names ("lab:13" is lab value 13); the keys are written above.
RECORD_KINDS = {
    "lab": LabValue,
    "ae": AdverseEvent,
    "mrd": MrdResult,
    "visit": Visit,
    "cycle": BlinatumomabInfusion,
    "dose": InfusionDoseChange,
    "interruption": InfusionInterruption,
    "decision": ProtocolDecision,
}


def record_of_key(subject: Subject, key: str):
    """The subject's record a finding's key names, or None."""
    kind, _, pk = key.partition(":")
    if kind == "response":  # "response:D40": the day-40 response
        return ResponseAssessment.objects.filter(subject=subject).first()
    model = RECORD_KINDS.get(kind)
    if model is None or not pk.isdigit():
        return None
    return model.objects.filter(**{subject_path(model): subject.pk}).filter(pk=int(pk)).first()


def trigger_name(alert, record) -> str:
    """The record that triggered an alert as people name it (the model's own name, e.g. "Lab
    panel 2026-11-25 08:00 CET, ALT 250 U/L"); a record no longer kept by its kind."""
    if record is not None:
        return str(record)
    kind = alert.record.partition(":")[0]
    if kind == "response":
        return "Day-40 response (not entered)"
    model = RECORD_KINDS.get(kind)
    what = capfirst(str(model._meta.verbose_name)) if model is not None else "Record"
    return f"{what} (no longer recorded)"
