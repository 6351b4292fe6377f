"""Lab panels graded by CTCAE v5.0, adverse events with their checks, SAE clocks, Table 2."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.services import audited_save
from crf.access import Capability, memberships_of, report_sites, sites_where
from crf.models import BlinatumomabInfusion, Role, Site, Subject
from crf.services import record_save
from crf.services.records import record_rules_register
from protocol import astct, ctcae, ctcae_terms, safety

from .models import (
    AdverseEvent,
    AdverseEventInterruptionLink,
    AdverseEventLabLink,
    CtcaeTerm,
    LabPanel,
    LabValue,
    SiteLabRange,
)

# --- Labs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabEntry:
    """One value typed into a panel: test, value and unit, and the sample's reference range."""

    test: str
    value: Decimal
    unit: str
    lln: Decimal | None = None
    uln: Decimal | None = None


def site_ranges(site) -> dict[str, SiteLabRange]:
    return {r.test: r for r in SiteLabRange.objects.filter(site=site)}


# --- The sites' reference ranges (the defaults of every new lab value) -----------------------

RANGES_REFUSED = "Only data managers set a site's laboratory reference ranges."


def range_sites(user) -> QuerySet[Site]:
    """The sites whose reference ranges the user may set: a data manager's sites (study-wide:
    every site); staff, every site."""
    if not (user.is_authenticated and user.is_active):
        return Site.objects.none()
    if user.is_staff:
        return Site.objects.all()
    site_ids = {site for role, site in memberships_of(user) if role == Role.DATA_MANAGER}
    if None in site_ids:
        return Site.objects.all()
    return Site.objects.filter(pk__in=site_ids)


def may_set_ranges(user, site) -> bool:
    return range_sites(user).filter(pk=site.pk).exists()


@dataclass(frozen=True)
class RangeEntry:
    """A site's range of one test as typed: its unit and limits, and the version it was read at
    (None for a test without a stored range)."""

    test: str
    unit: str
    lln: Decimal | None
    uln: Decimal | None
    version: int | None = None


def site_ranges_save(site, entries: Sequence[RangeEntry], *, user, reason: str) -> int:
    """Set a site's reference ranges: each changed range is saved through the audited save with
    the reason (its history keeps who, when and why). All or nothing; a refused range is named
    by its test and column (ValidationError keyed "<test>_<column>"). Returns how many changed."""
    if not may_set_ranges(user, site):
        raise PermissionDenied(RANGES_REFUSED)
    reason = (reason or "").strip()
    stored = site_ranges(site)
    errors: dict[str, list[str]] = {}
    changes = []
    for entry in entries:
        test = ctcae.LabTest(entry.test)
        label = ctcae.LAB_TEST_LABELS[test]
        if entry.unit not in ctcae.ALLOWED_UNITS[test]:
            allowed = ", ".join(ctcae.ALLOWED_UNITS[test])
            errors[f"{test}_unit"] = [f"{label}: {entry.unit!r} is not a unit of it ({allowed})."]
            continue
        try:
            ctcae.reference_range_check(entry.lln, entry.uln)
        except ctcae.LimitError as error:
            errors[f"{test}_{error.field}"] = [f"{label}: {error}"]
            continue
        current = stored.get(test.value)
        if current is None:
            if entry.lln is None and entry.uln is None and entry.unit == ctcae.STANDARD_UNIT[test]:
                continue  # nothing set for this test
            current = SiteLabRange(site=site, test=test.value)
        elif (current.unit, current.lln, current.uln) == (entry.unit, entry.lln, entry.uln):
            continue
        current.unit, current.lln, current.uln = entry.unit, entry.lln, entry.uln
        changes.append((current, entry.version))
    if changes and not reason:
        errors["reason_for_change"] = [
            "Give the reason for the change (it is kept in the audit trail)."
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for record, version in changes:
            audited_save(
                record,
                user=user,
                reason=reason,
                expected_version=version if record.pk else None,
            )
    return len(changes)


def _day1_start(subject: Subject) -> datetime:
    return timezone.make_aware(datetime.combine(subject.day1_date, datetime.min.time()))


def lab_baselines_find(values: Sequence[LabValue]) -> None:
    """Find each value's baseline (rules §5: the last value of its test before study day 1,
    and before the value itself) among the stored values and the values given, so that a batch
    (an import) grades against baselines it brings itself. One query per subject."""
    by_subject: dict[int, list[LabValue]] = {}
    for value in values:
        by_subject.setdefault(value.panel.subject_id, []).append(value)
    for subject_id, given in by_subject.items():
        subject = given[0].panel.subject
        day1 = _day1_start(subject)
        stored = LabValue.objects.filter(
            panel__subject_id=subject_id,
            panel__sampled_at__lt=day1,
            entered_in_error=False,
            panel__entered_in_error=False,
        ).select_related("panel")
        ids = {v.pk for v in given if v.pk is not None}
        candidates = [v for v in stored if v.pk not in ids] + [
            v for v in given if v.panel.sampled_at < day1 and not v.entered_in_error
        ]
        for value in given:
            before = min(day1, value.panel.sampled_at)
            earlier = [
                c for c in candidates if c.test == value.test and c.panel.sampled_at < before
            ]
            value.lab_baseline = max(earlier, key=lambda c: c.panel.sampled_at, default=None)


def lab_value_grade(record: LabValue) -> None:
    """Convert the value and its limits to the standard unit and grade it (CTCAE v5.0)."""
    if record.value is None or record.test not in {t.value for t in ctcae.LabTest}:
        return  # the field validation names the missing value or the unknown test
    test = ctcae.LabTest(record.test)
    try:
        record.standard_value = ctcae.to_standard(test, record.value, record.unit)
        uln = ctcae.to_standard(test, record.uln, record.unit) if record.uln is not None else None
        lln = ctcae.to_standard(test, record.lln, record.unit) if record.lln is not None else None
    except ctcae.UnitError as error:
        raise ValidationError({"unit": str(error)}) from None
    record.standard_unit = ctcae.STANDARD_UNIT[test]
    if not hasattr(record, "lab_baseline"):
        lab_baselines_find([record])
    baseline = record.lab_baseline
    baseline_value = baseline_abnormal = None
    if baseline is not None and baseline.uln is not None:
        try:
            baseline_value = ctcae.to_standard(test, baseline.value, baseline.unit)
            baseline_uln = ctcae.to_standard(test, baseline.uln, baseline.unit)
        except ctcae.UnitError:
            baseline_value = None  # the baseline's own check names its unit
        else:
            baseline_abnormal = ctcae.is_baseline_abnormal(baseline_value, baseline_uln)
    try:
        grade = ctcae.grade_lab(
            test,
            record.standard_value,
            uln=uln,
            lln=lln,
            baseline=baseline_value,
            baseline_abnormal=baseline_abnormal,
        )
    except ctcae.LimitError as error:
        # beside the value or the limit it is about (an LLN message under the LLN)
        raise ValidationError({error.field: str(error)}) from None
    except ValueError as error:
        raise ValidationError({"value": str(error)}) from None
    record.grade = grade.grade
    record.grading_system = grade.system
    record.grade_note = grade.note[:200]


def lab_panel_record(
    *, subject: Subject, sampled_at: datetime, local_lab: str, entries: list[LabEntry], user
) -> LabPanel:
    """Save a panel and its values, each graded; all or nothing."""
    if not entries:
        raise ValidationError("Enter at least one value.")
    with transaction.atomic():
        panel = record_save(
            LabPanel(subject=subject, sampled_at=sampled_at, local_lab=local_lab), user=user
        )
        errors = {}
        for entry in entries:
            value = LabValue(
                panel=panel,
                test=entry.test,
                value=entry.value,
                unit=entry.unit,
                lln=entry.lln,
                uln=entry.uln,
            )
            try:
                record_save(value, user=user)
            except ValidationError as invalid:
                label = ctcae.LAB_TEST_LABELS[ctcae.LabTest(entry.test)]
                for field, messages in invalid.message_dict.items():
                    errors[f"{entry.test}_{field}"] = [f"{label}: {m}" for m in messages]
        if errors:
            raise ValidationError(errors)
    return panel


def lab_value_correct(record: LabValue, *, user, reason: str, expected_version: int | None = None):
    """Correct a value (or its unit or range): regraded, with the reason in the audit trail."""
    return record_save(record, user=user, reason=reason, expected_version=expected_version)


# --- What a saved panel raised -------------------------------------------------------------


@dataclass(frozen=True)
class RaisedAlert:
    """An active protocol alert raised by a value of a panel: the lab page names the value, the
    alert and the action it asks for, and links to the alert."""

    pk: int
    rule: str
    severity: str
    message: str
    value: LabValue
    action: str = ""
    action_url: str = ""

    @property
    def urgent(self) -> bool:
        return self.severity == "urgent"


_PANEL_ALERTS: list[Callable[..., list[RaisedAlert] | None]] = []


def on_lab_panel_saved(hook: Callable[..., list[RaisedAlert] | None]) -> None:
    """Have `hook(panel, user=, evaluate=)` say which alerts a panel's values raised (alerts
    registers its rule evaluation; safety imports nothing of it)."""
    if hook not in _PANEL_ALERTS:
        _PANEL_ALERTS.append(hook)


def lab_panel_alerts(panel: LabPanel, *, user, evaluate: bool = False) -> list[RaisedAlert] | None:
    """The active alerts the values of `panel` raised, the subject's rules evaluated first when
    `evaluate` (just after the save); None when they could not be evaluated now."""
    raised: list[RaisedAlert] = []
    for hook in _PANEL_ALERTS:
        found = hook(panel, user=user, evaluate=evaluate)
        if found is None:
            return None
        raised.extend(found)
    return raised


@dataclass(frozen=True)
class UnreportedAbnormality:
    value: LabValue
    term: CtcaeTerm | None


def lab_value_term(value: LabValue) -> ctcae.CtcaeTerm | None:
    """The CTCAE term an abnormal value is reported under (protocol.ctcae_terms.lab_term, with
    the direction of its stored grade); None when it is normal or its test has no such term."""
    grade = ctcae.recorded_lab_grade(
        ctcae.LabTest(value.test), value.grade, value.value, uln=value.uln, lln=value.lln
    )
    return ctcae_terms.lab_term(ctcae.LabTest(value.test), grade)


def unreported_lab_abnormalities(subject: Subject) -> list[UnreportedAbnormality]:
    """Graded lab abnormalities (grade ≥ 1) with no adverse event of their CTCAE term
    (lab_value_term) covering their date: listed for the investigator, who decides whether to
    report them."""
    values = list(
        LabValue.objects.filter(
            panel__subject=subject,
            grade__gte=1,
            entered_in_error=False,
            panel__entered_in_error=False,
        ).select_related("panel")
    )
    if not values:
        return []
    aes = list(
        AdverseEvent.objects.filter(subject=subject, entered_in_error=False).select_related("term")
    )
    value_codes = {}
    for value in values:
        term = lab_value_term(value)
        value_codes[value.pk] = None if term is None else term.meddra_code
    codes = {code for code in value_codes.values() if code is not None}
    terms = {t.meddra_code: t for t in CtcaeTerm.objects.filter(meddra_code__in=codes)}
    found = []
    for value in values:
        day = timezone.localtime(value.panel.sampled_at).date()
        code = value_codes[value.pk]
        covered = code is not None and any(
            ae.term.meddra_code == code
            and ae.onset_date <= day
            and (ae.end_date is None or day <= ae.end_date)
            for ae in aes
        )
        if not covered:
            found.append(UnreportedAbnormality(value, terms.get(code)))
    return found


# --- Adverse events ----------------------------------------------------------------------------


def derived_grade(ae: AdverseEvent) -> tuple[int | None, str]:
    """The grade the findings give: ASTCT CRS for a CRS event with its findings, ICANS for a
    neurological event with an ICE score; (None, CTCAE) otherwise."""
    if (
        ae.term.meddra_code == ctcae_terms.CYTOKINE_RELEASE_SYNDROME.meddra_code
        and ae.crs_hypotension
    ):
        grade = astct.crs_grade(
            fever=bool(ae.crs_fever),
            hypotension=astct.Hypotension(ae.crs_hypotension),
            oxygen=astct.OxygenSupport(ae.crs_oxygen or astct.OxygenSupport.NONE),
            antipyretics_or_anticytokine=ae.crs_after_antipyretics,
        )
        return grade, astct.ASTCT_SYSTEM
    if ae.ice_orientation is not None:
        ice = astct.IceScore(
            orientation=ae.ice_orientation,
            naming=ae.ice_naming or 0,
            commands=ae.ice_commands or 0,
            writing=ae.ice_writing or 0,
            attention=ae.ice_attention or 0,
        )
        grade = astct.icans_grade(
            ice=ice,
            unarousable=ae.icans_unarousable,
            consciousness=astct.Consciousness(ae.icans_consciousness or "normal"),
            seizure=astct.Seizure(ae.icans_seizure or "none"),
            motor=astct.MotorFinding(ae.icans_motor or "none"),
            raised_icp=astct.RaisedIcp(ae.icans_raised_icp or "none"),
        )
        return grade, astct.ASTCT_SYSTEM
    return None, ctcae.GRADING_SYSTEM


def adverse_event_errors(ae: AdverseEvent) -> dict[str, str]:
    if ae.term_id is None:
        return {}  # the field validation asks for the term
    errors = {}
    term_error = ctcae.grade_error(ae.term.as_protocol(), ae.grade)
    if term_error:
        errors["grade"] = term_error
    criteria = [
        safety.SeriousCriterion(name.removeprefix("criterion_"))
        for name in AdverseEvent.CRITERIA
        if getattr(ae, name)
    ]
    for field, message in safety.sae_errors(
        serious=ae.serious,
        criteria=criteria,
        grade=ae.grade,
        fatal_outcome=ae.outcome == AdverseEvent.Outcome.FATAL,
        onset=ae.onset_date,
        end=ae.end_date,
    ).items():
        errors.setdefault(field, message)
    if ae.serious and ae.awareness_at is None:
        errors.setdefault("awareness_at", "A serious event needs the time the site became aware.")
    try:
        grade, _ = derived_grade(ae)
    except ValueError as error:
        errors.setdefault("grade", str(error))
        grade = None
    if grade is not None and grade != ae.grade and not ae.grade_justification.strip():
        errors.setdefault(
            "grade_justification",
            f"The findings give {astct.ASTCT_SYSTEM} grade {grade}: choose grade {grade} or "
            "document why the grade differs.",
        )
    return errors


def adverse_event_grading_system(ae: AdverseEvent) -> None:
    """Store the grading system the grade was given by (ASTCT 2019 or CTCAE 5.0)."""
    if ae.term_id is None:
        return
    try:
        _, ae.grading_system = derived_grade(ae)
    except ValueError:
        pass  # adverse_event_errors names what the findings lack


def adverse_event_save(ae: AdverseEvent, *, user, reason="", expected_version=None, **options):
    """Record or correct an adverse event; the grading system is stored with its grade."""
    return record_save(ae, user=user, reason=reason, expected_version=expected_version, **options)


def register() -> None:
    """Lab values and adverse events in the write pipeline (called from SafetyConfig.ready):
    a lab value is converted and graded (CTCAE v5.0) before its checks, an adverse event is
    refused a grade its CTCAE term does not have, and SAE criteria are checked (SA-1)."""
    record_rules_register(LabValue, derive=lab_value_grade, prepare=lab_baselines_find)
    record_rules_register(
        AdverseEvent, derive=adverse_event_grading_system, hard_checks=adverse_event_errors
    )


def adverse_event_links_set(ae: AdverseEvent, *, lab_values, interruptions, user) -> None:
    """Relate the event to lab values and infusion interruptions; each link added or removed
    is audited."""
    for link_model, field, wanted in (
        (AdverseEventLabLink, "lab_value", set(lab_values)),
        (AdverseEventInterruptionLink, "interruption", set(interruptions)),
    ):
        current = {
            getattr(link, field): link for link in link_model.objects.filter(adverse_event=ae)
        }
        for target in wanted - set(current):
            audited_save(
                link_model(adverse_event=ae, **{field: target}), user=user, reason="linked"
            )
        for target in set(current) - wanted:
            link = current[target]
            link._history_user = user
            link._change_reason = "unlinked"
            link.delete()


def adverse_event_record(
    ae: AdverseEvent,
    *,
    user,
    lab_values=(),
    interruptions=(),
    reason="",
    expected_version=None,
    confirmed=frozenset(),
) -> AdverseEvent:
    """Save an adverse event and its links in one transaction."""
    with transaction.atomic():
        saved = adverse_event_save(
            ae, user=user, reason=reason, expected_version=expected_version, confirmed=confirmed
        )
        adverse_event_links_set(
            saved, lab_values=lab_values, interruptions=interruptions, user=user
        )
    return saved


# --- SAE clocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaeClock:
    event: AdverseEvent
    due: datetime
    overdue: bool


def sae_clocks(user, now: datetime | None = None) -> list[SaeClock]:
    """SA-1: serious events at the user's sites whose sponsor notification is pending."""
    now = now or timezone.now()
    events = AdverseEvent.objects.filter(
        subject__site__in=sites_where(user, Capability.VIEW_SUBJECTS),
        serious=True,
        sponsor_notified_at__isnull=True,
        awareness_at__isnull=False,
        entered_in_error=False,
    ).select_related("subject", "term")
    return [
        SaeClock(
            e,
            safety.site_report_due(e.awareness_at),
            safety.site_report_overdue(e.awareness_at, None, now),
        )
        for e in events.order_by("awareness_at")
    ]


@dataclass(frozen=True)
class SusarDue:
    event: AdverseEvent
    due: date


def susar_due_dates(user) -> list[SusarDue]:
    """SA-2: SUSARs and the day each is due to the authorities (for the sponsor)."""
    events = AdverseEvent.objects.filter(
        subject__site__in=report_sites(user),
        susar=True,
        sponsor_awareness_date__isnull=False,
        entered_in_error=False,
    ).select_related("subject", "term")
    rows = []
    for e in events:
        fatal = e.criterion_death or e.criterion_life_threatening
        rows.append(
            SusarDue(e, safety.susar_due(e.sponsor_awareness_date, fatal_or_life_threatening=fatal))
        )
    return sorted(rows, key=lambda r: r.due)


# --- The AE summary (Table 2) -----------------------------------------------------------------


PERIOD_INFUSION = "infusion"
PERIOD_STUDY = "study"


def ae_summary_for(user, period: str = PERIOD_INFUSION) -> tuple[list[safety.SummaryRow], int]:
    """Table 2 from the data of the sites the user sees (see ae_summary_of)."""
    return ae_summary_of(Subject.objects.filter(site__in=report_sites(user)), period)


def ae_summary_of(subjects, period: str = PERIOD_INFUSION) -> tuple[list[safety.SummaryRow], int]:
    """Table 2 for `subjects`: per category and term, subjects with any grade, with grade 3-4
    and with grade 5, N (%) of treated subjects (rules §8, Table 2). Infusion period: events
    with onset between a subject's first blinatumomab start and the end of their last cycle
    (or today)."""
    events = AdverseEvent.objects.filter(
        subject__in=subjects, entered_in_error=False
    ).select_related("term")
    if period == PERIOD_INFUSION:
        windows = infusion_windows(subjects)
        treated = len(windows)
        facts = [
            e
            for e in events
            if e.subject_id in windows
            and windows[e.subject_id][0] <= e.onset_date <= windows[e.subject_id][1]
        ]
    else:
        treated = subjects.filter(Q(courses__isnull=False) | Q(infusions__isnull=False)).distinct()
        treated = treated.count()
        facts = list(events)
    rows = safety.ae_summary(
        (
            # keyed by the database id: Table 2 needs "the same subject", not who it is
            safety.AeFact(
                str(e.subject_id),
                e.term.term,
                safety.ae_category(e.term.term, e.term.soc),
                e.grade,
                e.verbatim,
            )
            for e in facts
        ),
        treated=treated,
        categories=safety.TABLE_2_CATEGORIES,
    )
    return rows, treated


def infusion_windows(subjects) -> dict[int, tuple[date, date]]:
    today = timezone.localdate()
    windows: dict[int, tuple[date, date]] = {}
    for cycle in BlinatumomabInfusion.objects.filter(
        subject__in=subjects, entered_in_error=False
    ).order_by("started_at"):
        start = timezone.localtime(cycle.started_at).date()
        end = timezone.localtime(cycle.ended_at).date() if cycle.ended_at else today
        first, last = windows.get(cycle.subject_id, (start, end))
        windows[cycle.subject_id] = (min(first, start), max(last, end))
    return windows
