"""The alerts depend on what happened, not on the order or the route by which it was entered.

Hypothesis generates a subject's history (a blinatumomab cycle with or without an interruption,
ALT values, CRS events, the day-40 response, MRD at weeks 11 and 18, a relapse, a death). The
history is entered for one subject through the write services in the order things happened, for
a second subject in a random order, and arrives for a third by `import_study` (the first
subject's records, exported and imported under another study ID). After every entry the rules
are evaluated, as the worker does after every commit. The open alerts of the three subjects,
each named by what its record is (not its id), must be the same, and the same as evaluating the
final facts once.
"""

from __future__ import annotations

import csv
import datetime
import io
import random
import zipfile
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.facts import record_of_key, subject_facts
from alerts.models import Alert
from alerts.services import subject_evaluate
from crf.models import (
    BlinatumomabInfusion,
    Day11Assessment,
    Death,
    InfusionDoseChange,
    InfusionInterruption,
    Relapse,
    ResponseAssessment,
    Role,
    Visit,
)
from crf.services import membership_grant, record_save
from crf.services.infusion import (
    infusion_dose_change,
    infusion_end,
    infusion_interrupt,
    infusion_restart,
    infusion_start,
)
from exports.csv_export import study_csv_write
from exports.domains import domains
from exports.importer import study_import
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from protocol.rules import evaluate
from safety.models import AdverseEvent, CtcaeTerm, LabValue
from safety.services import LabEntry, adverse_event_record, lab_panel_record
from tests.factories import SiteFactory, enrol, user_with_role
from tests.hostile.probe import rolled_back

pytestmark = pytest.mark.verifies("UR-ALR-01")

H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


# --- A history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interruption:
    day: int  # study day it starts on (the cycle runs from day 12)
    hours: int  # how long
    reason: str


@dataclass(frozen=True)
class History:
    interruption: Interruption | None
    alt: tuple[tuple[int, int, int], ...]  # (study day, hour, U/L), ULN 40
    crs: tuple[tuple[int, int], ...]  # (onset study day, grade)
    response: str | None
    mrd: tuple[tuple[str, str], ...]  # (timepoint, result kind)
    relapse_day: int | None
    death_day: int | None


histories = st.builds(
    History,
    interruption=st.none()
    | st.builds(
        Interruption,
        day=st.integers(20, 34),
        hours=st.sampled_from([3, 30, 100, 200, 400]),  # ≤ 7 days restarts; more ends the cycle
        reason=st.sampled_from(["hepatic", "crs", "infection"]),
    ),
    alt=st.lists(
        st.tuples(st.integers(12, 45), st.integers(0, 23), st.sampled_from([30, 150, 250, 900])),
        max_size=3,
        unique_by=lambda a: (a[0], a[1]),
    ).map(tuple),
    crs=st.lists(
        st.tuples(st.integers(12, 45), st.sampled_from([2, 3, 4])),
        max_size=2,
        unique_by=lambda c: c[0],
    ).map(tuple),  # fmt: skip
    response=st.sampled_from([None, "CR", "CRi", "refractory"]),
    mrd=st.lists(
        st.tuples(st.sampled_from(["W11", "W18"]), st.sampled_from(["negative", "high", "pnq"])),
        max_size=2,
        unique_by=lambda m: m[0],
    ).map(tuple),
    relapse_day=st.none() | st.integers(60, 180),
    death_day=st.none() | st.integers(150, 200),
)

DAY1 = timezone.localdate() - datetime.timedelta(days=260)
MRD_DAYS = {"W11": 74, "W18": 122}


def _on(day: int) -> datetime.date:
    return DAY1 + datetime.timedelta(days=day - 1)


def _at(day: int, hour: int = 8) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(_on(day), datetime.time(hour)))


def units(history: History, subject, investigator, lab) -> list:
    """What the site and the laboratory enter, one callable per entry a person would make."""

    def cycle():
        record_save(
            Day11Assessment(subject=subject, assessed_on=_on(11), marrow_blasts_percent=30),
            user=investigator,
        )
        start = _at(12)
        run = infusion_start(subject=subject, started_at=start, ug_per_day=Decimal(9),
                             user=investigator)  # fmt: skip
        infusion_dose_change(record=run, at=_at(19), ug_per_day=Decimal(28), kind="step_up",
                             user=investigator)  # fmt: skip
        end = start + 28 * D
        stop = history.interruption
        if stop is not None:
            off = infusion_interrupt(record=run, started_at=_at(stop.day), reason=stop.reason,
                                     reason_other="", user=investigator)  # fmt: skip
            back = _at(stop.day) + stop.hours * H
            if stop.hours <= 7 * 24:  # BL-1: restart in the same cycle at 9 µg/day (BL-4)
                infusion_restart(interruption=off, restarted_at=back, ug_per_day=Decimal(9),
                                 user=investigator)  # fmt: skip
                end += stop.hours * H
            else:  # BL-3 on the ward: discontinued while interrupted
                run.refresh_from_db()
                infusion_end(record=run, ended_at=back, end_reason="discontinued",
                             discontinuation_reason="too long", user=investigator)  # fmt: skip
                return
        run.refresh_from_db()
        infusion_end(record=run, ended_at=end, end_reason="completed", discontinuation_reason="",
                     user=investigator)  # fmt: skip

    def alt(day, hour, value):
        return lambda: lab_panel_record(
            subject=subject, sampled_at=_at(day, hour), local_lab="ward",
            entries=[LabEntry("alt", Decimal(value), "U/L", uln=Decimal(40))], user=investigator,
        )  # fmt: skip

    def crs(day, grade):
        term = CtcaeTerm.objects.get(term="Cytokine release syndrome")
        return lambda: adverse_event_record(
            AdverseEvent(subject=subject, term=term, verbatim="CRS", onset_date=_on(day),
                         grade=grade, relationship_blinatumomab="probable",
                         relationship_chemotherapy="unlikely", action_blinatumomab="none",
                         outcome="recovered"),
            user=investigator,
        )  # fmt: skip

    def mrd(timepoint, kind):
        def enter():
            day = MRD_DAYS[timepoint]
            sample = sample_record(subject=subject, timepoint=timepoint, material="bone_marrow",
                                   sampled_on=_on(day), user=investigator)  # fmt: skip
            values = {
                "negative": dict(result_class="negative", sensitivity=Decimal("0.00001")),
                "high": dict(result_class="quantifiable", value=Decimal("0.0023"),
                             sensitivity=Decimal("0.00001"),
                             quantitative_range=Decimal("0.0001")),
                "pnq": dict(result_class="pnq", sensitivity=Decimal("0.00001"),
                            quantitative_range=Decimal("0.0001")),
            }[kind]  # fmt: skip
            result_save(MrdResult(sample=sample, method="qpcr", report_date=_on(day + 3),
                                  **values), user=lab)  # fmt: skip

        return enter

    entries = [cycle]
    entries += [alt(*a) for a in history.alt]
    entries += [crs(*c) for c in history.crs]
    if history.response:
        entries.append(lambda: record_save(
            ResponseAssessment(subject=subject, assessed_on=_on(40), response=history.response),
            user=investigator,
        ))  # fmt: skip
    entries += [mrd(*m) for m in history.mrd]
    if history.relapse_day:
        entries.append(lambda: record_save(
            Relapse(subject=subject, relapse_date=_on(history.relapse_day),
                    kind="haematological"), user=investigator,
        ))  # fmt: skip
    if history.death_day:
        entries.append(lambda: record_save(
            Death(subject=subject, death_date=_on(history.death_day), cause="ALL"),
            user=investigator,
        ))  # fmt: skip
    return entries


# --- What an alert is about, whatever its record's id ---------------------------------------------


def _what(record) -> tuple:
    match record:
        case LabValue():
            return ("lab", record.panel.sampled_at, record.test)
        case AdverseEvent():
            return ("ae", record.onset_date, record.grade)
        case MrdResult():
            return ("mrd", record.sample.timepoint, record.method)
        case Visit():
            return ("visit", record.code)
        case BlinatumomabInfusion():
            return ("cycle", record.cycle)
        case InfusionDoseChange():
            return ("dose", record.at, record.kind)
        case InfusionInterruption():
            return ("interruption", record.started_at)
        case ResponseAssessment():
            return ("response",)
    raise AssertionError(f"an alert about {record!r}")


def open_alerts(subject) -> set[tuple]:
    return {
        (alert.rule, _what(record_of_key(subject, alert.record)))
        for alert in Alert.objects.filter(subject=subject, status__in=Alert.ACTIVE)
    }


def evaluated_once(subject) -> set[tuple]:
    findings = evaluate(subject_facts(subject), timezone.localtime())
    return {(f.rule, _what(record_of_key(subject, f.record))) for f in findings}


# --- The third route: the first subject's records, exported and imported as another subject ------

OFFSET = 900_000
CLINICAL_FILES = [
    d.file
    for d in domains()
    if d.file
    not in {
        "sites.csv",
        "protocol_versions.csv",
        "site_lab_ranges.csv",
        "alerts.csv",
        "protocol_decisions.csv",
        "queries.csv",
    }  # fmt: skip
]


def import_as(source_site, site_number: int, study_id: str, tmp_path):
    """Export the site `source_site` (one subject), shift every id, rename the subject and its
    site, and import the files: the same records arriving by import_study."""
    archive = tmp_path / f"{study_id}.zip"
    study_csv_write(archive, site_ids=frozenset({source_site.pk}))
    ours = set(CLINICAL_FILES)
    folder = tmp_path / study_id
    folder.mkdir()
    with zipfile.ZipFile(archive) as exported:
        texts = {name: exported.read(name).decode() for name in ours}
    old_study_id = None
    for domain in domains():
        if domain.file not in ours:
            continue
        rows = list(csv.DictReader(io.StringIO(texts[domain.file])))
        for row in rows:
            if domain.file == "subjects.csv":
                old_study_id = row["study_id"]
                row["study_id"], row["site"] = study_id, str(site_number)
            if domain.file == "screenings.csv":
                row["site"] = str(site_number)
                row["screening_number"] = f"S{study_id}"
            for column in domain.columns:
                value = row[column.name]
                if value and (column.name == "id" or (
                    column.target in ours and column.name == column.field.attname)):  # fmt: skip
                    row[column.name] = str(int(value) + OFFSET)
            if "subject" in row and row["subject"] == old_study_id:
                row["subject"] = study_id
            if domain.file == "mrd_samples.csv":
                row["accession"] = row["accession"].replace(old_study_id, study_id, 1)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=domain.header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        (folder / domain.file).write_text(out.getvalue())
    result = study_import(folder)
    for subject_id in result.subject_ids:
        subject_evaluate(subject_id)


# --- The property ---------------------------------------------------------------------------------


def three_routes(history: History, order, tmp_path) -> tuple[set, set, set, set]:
    """The open alerts of the history entered in order, in `order`'s shuffle, by import, and
    of the final facts evaluated once (inside a savepoint rolled back afterwards)."""
    with rolled_back():
        sites = [SiteFactory(number=n, city=f"Site {n}") for n in (91, 92, 93)]
        investigator = user_with_role(Role.INVESTIGATOR, sites[0])
        membership_grant(user=investigator, role=Role.INVESTIGATOR, site=sites[1], granted_by=None)
        lab = user_with_role(Role.CENTRAL_LAB, None)
        subjects = []
        for site, shuffle in ((sites[0], False), (sites[1], True)):
            subject = enrol(site, by=investigator, day1_date=DAY1)
            entries = units(history, subject, investigator, lab)
            if shuffle:
                order.shuffle(entries)
            for enter in entries:
                enter()
                subject_evaluate(subject.pk)  # what the worker does after every commit
            subjects.append(subject)
        import_as(sites[0], 93, "93-01", tmp_path)
        imported = type(subjects[0]).objects.get(study_id="93-01")
        return (
            open_alerts(subjects[0]),
            open_alerts(subjects[1]),
            open_alerts(imported),
            evaluated_once(subjects[0]),
        )


@pytest.mark.django_db
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(history=histories, order=st.randoms(use_true_random=False))
def test_the_open_alerts_do_not_depend_on_the_order_or_the_route(history, order, tmp_path_factory):
    in_order, shuffled, imported, once = three_routes(
        history, order, tmp_path_factory.mktemp("route")
    )
    assert in_order == once
    assert shuffled == in_order, history
    assert imported == in_order, history


@pytest.mark.verifies("AL-HEP", "AL-CRS", "AL-MRD-TRIGGER")
@pytest.mark.django_db
def test_a_history_with_a_toxicity_and_mrd_failure_gives_its_alerts_on_every_route(tmp_path):
    """The machinery at work on a history whose alerts are known: an ALT of 6.25 x ULN on day
    14 that no interruption answered, a grade-3 CRS on day 15, MRD 2.3E-3 at week 18 in CR."""
    history = History(
        interruption=None, alt=((14, 9, 250),), crs=((15, 3),), response="CR",
        mrd=(("W18", "high"),), relapse_day=None, death_day=None,
    )  # fmt: skip
    in_order, shuffled, imported, once = three_routes(history, random.Random(4), tmp_path)
    rules = {rule for rule, _ in in_order}
    assert {"AL-HEP", "AL-CRS", "AL-MRD-TRIGGER"} <= rules
    assert in_order == shuffled == imported == once
