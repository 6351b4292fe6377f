"""The eCRF's write routes (apps crf, mrd, safety, alerts) and how to drive each one.

Shared by test_write_routes.py (the audit rows each route writes) and
test_monitor_cannot_change_data.py (no other role changes anything through them).

Every named URL of those apps is classified in WRITE_ROUTES or READ_ONLY_ROUTES; a new URL makes
test_every_url_is_classified fail until it is classified (and, if it writes, given a case here).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from simple_history.models import HistoricalChanges

from alerts.models import Alert
from audit.services import audited_save
from crf.models import DrugAdministration, Role, Visit
from crf.services.infusion import infusion_interrupt
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from mrd.upload import COLUMNS, upload_receive
from tests.factories import (
    baseline_for,
    course_for,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    protocol_versions,
    serious_ae_for,
    user_with_role,
)

APPS = ("crf", "mrd", "safety", "alerts")

# URL names whose views change trial data on POST, each with at least one case in CASES.
WRITE_ROUTES = (
    "crf:subject_enrol",
    "crf:subject_edit",
    "crf:record_new",
    "crf:record_edit",
    "crf:administration",
    "crf:infusion_action",
    "mrd:subject",  # the site records an MRD sample (POST)
    "mrd:result",
    "mrd:upload",
    "mrd:upload_commit",
    "safety:labs",  # a new lab panel (POST)
    "safety:lab_value",
    "safety:adverse_event_new",
    "safety:adverse_event",
    "safety:sae_follow_up",
    "safety:lab_ranges_site",  # a site's laboratory reference ranges (data managers)
    "alerts:decision",
    "alerts:detail",  # acknowledge or close (POST)
)

# URL names whose views only read (a POST renders the page, 404s or 405s, and writes nothing).
READ_ONLY_ROUTES = (
    "crf:subject_list",
    "crf:screening_log",
    "crf:subject_detail",
    "crf:course",  # course_detail: the course page; courses are written by record_new/edit
    "crf:infusion",  # the infusion page; its actions POST to crf:infusion_action
    "mrd:worklist",
    "mrd:upload_template",
    "mrd:upload_preview",
    "mrd:upload_cancel",  # sets a checked file aside: no trial data is written
    "mrd:cohort",
    "safety:adverse_events",
    "safety:ae_summary",
    "safety:sae",
    "safety:lab_ranges",  # the data manager's sites, each linked to its ranges
    "alerts:inbox",
)


def url_names_of_apps(namespaces=APPS) -> list[str]:
    """Every named URL in the given namespaces, read from the URL configuration."""
    names = []

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name and namespace:
                names.append(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns)
    return sorted({n for n in names if n.split(":")[0] in namespaces})


def history_models() -> list[type[models.Model]]:
    """Every django-simple-history table of the project."""
    return [m for m in apps.get_models() if issubclass(m, HistoricalChanges)]


def history_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in history_models()}


def history_high_water() -> dict[type[models.Model], int]:
    """The highest history_id of every history table, to find the rows written after it."""
    marks = {}
    for model in history_models():
        last = model.objects.order_by("-history_id").values_list("history_id", flat=True).first()
        marks[model] = last or 0
    return marks


# --- The world the routes act on ------------------------------------------------------------


@dataclass
class World:
    site: object
    investigator: object
    subject: object
    central_lab: object
    _data_manager: object = None

    def data_manager(self):
        """The site's data manager (sets its laboratory reference ranges), made when needed."""
        if self._data_manager is None:
            self._data_manager = user_with_role(Role.DATA_MANAGER, self.site, username="dm.world")
        return self._data_manager


@dataclass
class Submission:
    """One POST: where, what; the record it changes (if any); and who may send it."""

    url: str
    data: dict
    record: models.Model | None = None
    multipart_file: tuple[str, bytes] | None = None  # (field, content) for the CSV upload
    notes: dict = field(default_factory=dict)

    def post(self, client):
        data = dict(self.data)
        if self.multipart_file:
            name, content = self.multipart_file
            data[name] = SimpleUploadedFile("batch.csv", content, content_type="text/csv")
        return client.post(self.url, data)


@dataclass(frozen=True)
class WriteCase:
    id: str
    route: str
    writer: str  # the role that may write through the route
    arrange: Callable[[World], Submission]
    # Clinical data (as opposed to MRD laboratory results): central-lab users may not write it.
    clinical: bool = True

    def writer_user(self, world: World):
        if self.writer == Role.DATA_MANAGER:
            return world.data_manager()
        return world.central_lab if self.writer == Role.CENTRAL_LAB else world.investigator


def _study_url(name: str, world: World, *args) -> str:
    return reverse(name, args=[world.subject.study_id, *args])


def _local(day: int, hour: int, minute: int = 0) -> tuple[str, datetime.datetime]:
    """Study day `day` of subject 1-01 (day 1 = 2026-03-02) at hour:minute, as the form's text
    and as the aware datetime it means."""
    date = datetime.date(2026, 3, 2) + datetime.timedelta(days=day - 1)
    moment = timezone.make_aware(datetime.datetime.combine(date, datetime.time(hour, minute)))
    return f"{date.isoformat()}T{hour:02d}:{minute:02d}", moment


# --- crf ------------------------------------------------------------------------------------

SCREENING = {
    "consent_date": "2026-02-27",
    "consent_version": "1.0",
    "adult_at_consent": "True",
    "untreated_ph_negative_bcp_all": "True",
    "cd19_positive": "True",
    "no_contraindication": "True",
    "day1_date": "2026-03-02",
    "failure_reason": "",
}

BASELINE = {
    "sex": "F",
    "year_of_birth": "1985",
    "height_cm": "170",
    "weight_kg": "75",
    "diagnosis_date": "2026-02-25",
    "leukocytes": "5.9",
    "marrow_blasts_percent": "81",
    "immunophenotype": "B-II",
    "cd20_positive": "no",
    "karyotype": "normal",
    "cns_status": "CNS1",
    "igtr_target_available": "on",
}


def enrol_eligible(w: World) -> Submission:
    protocol_versions()
    return Submission(reverse("crf:subject_enrol"), {**SCREENING, "site": w.site.pk})


def enrol_screen_failure(w: World) -> Submission:
    protocol_versions()
    data = {
        **SCREENING,
        "site": w.site.pk,
        "cd19_positive": "False",
        "day1_date": "",
        "failure_reason": "CD19-negative blasts",
    }
    return Submission(reverse("crf:subject_enrol"), data)


def subject_edit(w: World) -> Submission:
    data = {"day1_date": "2026-03-03", "version": "1", "reason_for_change": "wrong day copied"}
    return Submission(_study_url("crf:subject_edit", w), data, record=w.subject)


def baseline_new(w: World) -> Submission:
    return Submission(_study_url("crf:record_new", w, "baseline"), dict(BASELINE))


def baseline_edit(w: World) -> Submission:
    baseline = baseline_for(w.subject, by=w.investigator)
    data = {
        **BASELINE,
        "weight_kg": "76",
        "version": "1",
        "reason_for_change": "scale recalibrated",
    }
    return Submission(
        _study_url("crf:record_edit", w, "baseline", baseline.pk), data, record=baseline
    )


def day11_new(w: World) -> Submission:
    data = {"assessed_on": "2026-03-12", "marrow_blasts_percent": "30"}
    return Submission(_study_url("crf:record_new", w, "day11"), data)


def day11_edit(w: World) -> Submission:
    day11 = day11_for(w.subject, by=w.investigator, blasts="30")
    data = {
        "assessed_on": "2026-03-12",
        "marrow_blasts_percent": "35",
        "version": "1",
        "reason_for_change": "blast count re-read",
    }
    return Submission(_study_url("crf:record_edit", w, "day11", day11.pk), data, record=day11)


def visit_new(w: World) -> Submission:
    data = {"name": "fever", "actual_date": "2026-03-20", "notes": ""}
    return Submission(_study_url("crf:record_new", w, "visit"), data)


def visit_edit(w: World) -> Submission:
    visit = Visit.objects.get(subject=w.subject, code="W11")
    data = {
        "missed": "on",
        "missed_reason": "patient in ICU",
        "version": "1",
        "reason_for_change": "visit did not take place",
    }
    return Submission(_study_url("crf:record_edit", w, "visit", visit.pk), data, record=visit)


def course_new(w: World) -> Submission:
    data = {
        "phase": "pre_induction",
        "start_date": "2026-03-02",
        "height_cm": "170",
        "weight_kg": "75",
    }
    return Submission(_study_url("crf:record_new", w, "course"), data)


def mrd_blinatumomab_new(w: World) -> Submission:
    """MR-4/MR-5: a course of MRD-triggered blinatumomab as given."""
    data = {
        "start_date": "2026-07-06",
        "end_date": "2026-08-30",
        "cycles": "2",
        "dose_ug_per_day": "28",
        "cd19_reconfirmed": "True",
        "cd19_date": "2026-07-01",
        "mrd_after_class": "quantifiable",
        "mrd_after_value": "1.2E-4",
        "comment": "after W18 MRD 3E-4",
    }
    return Submission(_study_url("crf:record_new", w, "mrd-blinatumomab"), data)


def salvage_new(w: World) -> Submission:
    data = {
        "start_date": "2026-06-01",
        "end_date": "2026-07-20",
        "regimen": "other",
        "regimen_other": "hyper-CVAD",
        "indication": "relapse",
        "outcome": "CR",
        "comment": "second line",
    }
    return Submission(_study_url("crf:record_new", w, "salvage-therapy"), data)


def administration(w: World) -> Submission:
    course = course_for(w.subject, by=w.investigator)
    row = DrugAdministration.objects.get(course=course, drug="DAU", protocol_day=6)
    data = {"administered_dose": "84.60", "administered_on": "2026-03-07", "version": "1"}
    return Submission(_study_url("crf:administration", w, row.pk), data, record=row)


def _infusion(w: World, action: str, **fields) -> Submission:
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return Submission(_study_url("crf:infusion_action", w, action), data)


def _running(w: World):
    day11_for(w.subject, by=w.investigator)
    return infusion_started_for(w.subject, by=w.investigator)  # study day 12, 09:00, 9 µg/day


def infusion_start(w: World) -> Submission:
    day11_for(w.subject, by=w.investigator)
    return _infusion(w, "start", started_at=_local(12, 9)[0], ug_per_day="9")


def infusion_dose(w: World) -> Submission:
    _running(w)  # BD-2: 9 µg/day on infusion days 1-7, then 28
    return _infusion(w, "dose", at=_local(19, 9)[0], ug_per_day="28", kind="step_up")


def infusion_interrupt_(w: World) -> Submission:
    _running(w)
    return _infusion(w, "interrupt", started_at=_local(14, 9)[0], reason="hepatic")


def infusion_restart(w: World) -> Submission:
    cycle = _running(w)
    interruption = infusion_interrupt(
        record=cycle,
        started_at=_local(14, 9)[1],
        reason="hepatic",
        reason_other="",
        user=w.investigator,
    )
    submission = _infusion(w, "restart", restarted_at=_local(16, 9)[0], ug_per_day="9")
    submission.record = interruption
    return submission


def infusion_premedication(w: World) -> Submission:
    _running(w)
    return _infusion(
        w, "premedication", given_at=_local(12, 8)[0], dexamethasone_mg="20", before="start"
    )


def infusion_end(w: World) -> Submission:
    cycle = _running(w)
    submission = _infusion(
        w, "end", ended_at=_local(17, 9)[0], end_reason="new_cycle", discontinuation_reason=""
    )
    submission.record = cycle
    return submission


# --- mrd ------------------------------------------------------------------------------------

MRD_RESULT = {
    "markers": "IGH VDJ",
    "result_class": "quantifiable",
    "value": "1,2E-4",
    "sensitivity": "1E-5",
    "quantitative_range": "1E-4",
    "report_date": "2026-05-20",
    "not_evaluable_reason": "",
    "comment": "",
}


def _w11_sample(w: World, subject=None):
    return sample_record(
        subject=subject or w.subject,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=w.investigator,
    )


def mrd_sample(w: World) -> Submission:
    data = {"timepoint": "D40", "material": "bone_marrow", "sampled_on": "2026-04-10"}
    return Submission(reverse("mrd:subject", args=[w.subject.study_id]), data)


def mrd_result_new(w: World) -> Submission:
    sample = _w11_sample(w)
    return Submission(reverse("mrd:result", args=[sample.accession, "qpcr"]), dict(MRD_RESULT))


def mrd_result_edit(w: World) -> Submission:
    sample = _w11_sample(w)
    result = result_save(
        MrdResult(
            sample=sample,
            method="qpcr",
            markers="IGH VDJ",
            result_class="quantifiable",
            value=Decimal("0.00012"),
            sensitivity=Decimal("0.00001"),
            quantitative_range=Decimal("0.0001"),
            report_date=datetime.date(2026, 5, 20),
        ),
        user=w.central_lab,
    )
    data = {**MRD_RESULT, "value": "2.3E-4", "version": "1", "reason_for_change": "transcription"}
    return Submission(reverse("mrd:result", args=[sample.accession, "qpcr"]), data, record=result)


def mrd_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return out.getvalue().encode()


def _csv_row(accession, **values):
    row = {
        "accession": accession,
        "method": "qpcr",
        "result": "quantifiable",
        "value": "1.2E-4",
        "sensitivity": "1E-5",
        "quantitative_range": "1E-4",
        "report_date": "2026-05-20",
    }
    row.update(values)
    return row


def mrd_upload(w: World) -> Submission:
    sample = _w11_sample(w)
    content = mrd_csv([_csv_row(sample.accession)])
    return Submission(reverse("mrd:upload"), {}, multipart_file=("file", content))


def mrd_upload_commit(w: World) -> Submission:
    """A file with one new result (the first sample) and one correction (the second's)."""
    from tests.factories import enrol

    first = _w11_sample(w)
    second = _w11_sample(w, enrol(w.site, by=w.investigator))
    corrected = result_save(
        MrdResult(
            sample=second,
            method="qpcr",
            result_class="quantifiable",
            value=Decimal("0.00012"),
            sensitivity=Decimal("0.00001"),
            quantitative_range=Decimal("0.0001"),
            report_date=datetime.date(2026, 5, 20),
        ),
        user=w.central_lab,
    )
    content = mrd_csv(
        [
            _csv_row(first.accession, value="1,2E-4"),
            _csv_row(second.accession, value="2.3E-4", reason_for_change="re-quantified"),
        ]
    )
    received = upload_receive(filename="batch.csv", raw=content, user=w.central_lab)
    return Submission(
        reverse("mrd:upload_commit", args=[received.pk]),
        {},
        record=corrected,
        notes={"upload": received, "first": first, "second": second},
    )


# --- safety ---------------------------------------------------------------------------------

AE = {
    "term": "Alanine aminotransferase increased (10001551)",
    "verbatim": "ALT up",
    "onset_date": "2026-03-15",
    "end_date": "",
    "grade": "3",
    "relationship_blinatumomab": "probable",
    "relationship_chemotherapy": "unlikely",
    "action_blinatumomab": "interrupted",
    "outcome": "recovered",
}


def lab_panel(w: World) -> Submission:
    data = {
        "sampled_at": "2026-03-14T08:00",
        "local_lab": "IHBT",
        "alt_value": "240",
        "alt_unit": "U/L",
        "alt_uln": "40",
    }
    return Submission(reverse("safety:labs", args=[w.subject.study_id]), data)


def lab_ranges(w: World) -> Submission:
    from protocol import ctcae

    data = {f"{test}_unit": ctcae.STANDARD_UNIT[test] for test in ctcae.LabTest}
    data.update({"alt_lln": "0", "alt_uln": "40", "reason_for_change": "IHBT ranges 2026"})
    return Submission(reverse("safety:lab_ranges_site", args=[w.site.number]), data)


def lab_value_edit(w: World) -> Submission:
    value = lab_panel_for(w.subject, by=w.investigator).values.get()  # ALT 250, ULN 40
    data = {"value": "90", "unit": "U/L", "uln": "40", "version": "1", "reason_for_change": "typo"}
    return Submission(
        reverse("safety:lab_value", args=[w.subject.study_id, value.pk]), data, record=value
    )


def adverse_event_new(w: World) -> Submission:
    return Submission(reverse("safety:adverse_event_new", args=[w.subject.study_id]), dict(AE))


def adverse_event_edit(w: World) -> Submission:
    event = serious_ae_for(
        w.subject,
        by=w.investigator,
        verbatim="ALT up",
        serious=False,
        criterion_hospitalisation=False,
        awareness_at=None,
    )
    data = {
        **AE,
        "verbatim": "ALT 6 x ULN",
        "version": "1",
        "reason_for_change": "verbatim completed from the source",
    }
    return Submission(
        reverse("safety:adverse_event", args=[w.subject.study_id, event.pk]), data, record=event
    )


def sae_follow_up(w: World) -> Submission:
    event = serious_ae_for(w.subject, by=w.investigator)
    data = {"reported_at": "2026-03-20T10:00", "report": "Recovered, discharged on day 19."}
    return Submission(
        reverse("safety:sae_follow_up", args=[w.subject.study_id, event.pk]),
        data,
        notes={"event": event},
    )


# --- alerts ---------------------------------------------------------------------------------


def alert_for(w: World, *actors: str, rule="AL-VISIT-OVERDUE") -> Alert:
    """An open alert about subject 1-01's week-11 visit, for the given roles."""
    visit = Visit.objects.get(subject=w.subject, code="W11")
    return audited_save(
        Alert(
            subject=w.subject,
            rule=rule,
            record=f"visit:{visit.pk}",
            severity=Alert.Severity.INFO,
            message="Week-11 visit past its window without data.",
            actors=list(actors or [Role.INVESTIGATOR.value]),
            raised_at=timezone.now(),
        ),
        user=None,
        reason="raised by the protocol rules",
    )


def decision(w: World) -> Submission:
    value = lab_panel_for(w.subject, by=w.investigator).values.get()
    url = reverse("alerts:decision", args=[w.subject.study_id])
    data = {
        "kind": "hep_justification",
        "decided_on": "2026-03-16",
        "details": "ALT grade 3 resolved within hours; infusion continued after discussion.",
    }
    return Submission(f"{url}?about=lab:{value.pk}&kind=hep_justification", data)


def alert_acknowledge(w: World) -> Submission:
    alert = alert_for(w)
    data = {"comment": "visit booked for next week"}
    return Submission(reverse("alerts:detail", args=[alert.pk]), data, record=alert)


def alert_close(w: World) -> Submission:
    alert = alert_for(w)
    data = {"comment": "patient withdrew: nothing more to do", "close": "on"}
    return Submission(reverse("alerts:detail", args=[alert.pk]), data, record=alert)


_I, _LAB, _DM = Role.INVESTIGATOR, Role.CENTRAL_LAB, Role.DATA_MANAGER
CASES = [
    WriteCase("enrol", "crf:subject_enrol", _I, enrol_eligible),
    WriteCase("screen_failure", "crf:subject_enrol", _I, enrol_screen_failure),
    WriteCase("subject_edit", "crf:subject_edit", _I, subject_edit),
    WriteCase("baseline_new", "crf:record_new", _I, baseline_new),
    WriteCase("day11_new", "crf:record_new", _I, day11_new),
    WriteCase("visit_new", "crf:record_new", _I, visit_new),
    WriteCase("course_new", "crf:record_new", _I, course_new),
    WriteCase("mrd_blinatumomab_new", "crf:record_new", _I, mrd_blinatumomab_new),
    WriteCase("salvage_new", "crf:record_new", _I, salvage_new),
    WriteCase("baseline_edit", "crf:record_edit", _I, baseline_edit),
    WriteCase("day11_edit", "crf:record_edit", _I, day11_edit),
    WriteCase("visit_edit", "crf:record_edit", _I, visit_edit),
    WriteCase("administration", "crf:administration", _I, administration),
    WriteCase("infusion_start", "crf:infusion_action", _I, infusion_start),
    WriteCase("infusion_dose", "crf:infusion_action", _I, infusion_dose),
    WriteCase("infusion_interrupt", "crf:infusion_action", _I, infusion_interrupt_),
    WriteCase("infusion_restart", "crf:infusion_action", _I, infusion_restart),
    WriteCase("infusion_premedication", "crf:infusion_action", _I, infusion_premedication),
    WriteCase("infusion_end", "crf:infusion_action", _I, infusion_end),
    WriteCase("mrd_sample", "mrd:subject", _I, mrd_sample),
    WriteCase("mrd_result_new", "mrd:result", _LAB, mrd_result_new, clinical=False),
    WriteCase("mrd_result_edit", "mrd:result", _LAB, mrd_result_edit, clinical=False),
    WriteCase("mrd_upload", "mrd:upload", _LAB, mrd_upload, clinical=False),
    WriteCase("mrd_upload_commit", "mrd:upload_commit", _LAB, mrd_upload_commit, clinical=False),
    WriteCase("lab_panel", "safety:labs", _I, lab_panel),
    WriteCase("lab_value_edit", "safety:lab_value", _I, lab_value_edit),
    WriteCase("adverse_event_new", "safety:adverse_event_new", _I, adverse_event_new),
    WriteCase("adverse_event_edit", "safety:adverse_event", _I, adverse_event_edit),
    WriteCase("sae_follow_up", "safety:sae_follow_up", _I, sae_follow_up),
    WriteCase("lab_ranges", "safety:lab_ranges_site", _DM, lab_ranges),
    WriteCase("decision", "alerts:decision", _I, decision),
    WriteCase("alert_acknowledge", "alerts:detail", _I, alert_acknowledge),
    WriteCase("alert_close", "alerts:detail", _I, alert_close),
]
CASES_BY_ID = {case.id: case for case in CASES}


def build_world(site, investigator, subject) -> World:
    return World(
        site=site,
        investigator=investigator,
        subject=subject,
        central_lab=user_with_role(Role.CENTRAL_LAB, None, username="lab"),
    )
