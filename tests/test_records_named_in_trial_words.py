"""Every record is named in the trial's words wherever a person reads it: the AE form's options,
an alert's page ("Triggered by", "Protocol reference"), the subject's audit trail and its CSV,
the records for review and the lock list. No internal id, no class name, no file name; values
as people write them (no 15-digit decimals), labels as clinicians write them."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, ProtocolDecision
from alerts.services import subject_evaluate
from audit.services import audited_save
from crf.models import (
    Death,
    EndOfStudy,
    FollowUpContact,
    InfusionInterruption,
    IntrathecalAdministration,
    MrdTriggeredBlinatumomab,
    Relapse,
    ResponseAssessment,
    Role,
    SalvageTherapy,
    SecondMalignancy,
    Transplant,
    Visit,
)
from crf.services import record_save
from crf.services.infusion import infusion_interrupt, infusion_restart
from monitoring.locks import lock_create
from monitoring.models import Lock
from monitoring.queries import query_open
from monitoring.records import clinical_models
from monitoring.sdv import record_verify
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from safety.models import AdverseEvent, SaeFollowUp
from safety.services import adverse_event_links_set
from tests.factories import (
    baseline_for,
    course_for,
    day11_for,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

# What a person must never read: a model's default name, a record's database id, a rule file,
# a subject by its database id ("Subject 6", not "Subject 1-01"), a decimal with its 15 stored
# places, an alert's internal key ("lab:13").
INTERNAL = {
    "default model name": re.compile(r"object \(\d+\)"),
    "record id": re.compile(r"#\d+"),
    "rule file": re.compile(r"RULES\.md"),
    "subject by id": re.compile(r"Subject \d+(?![\d-])"),
    "15-digit decimal": re.compile(r"\d\.\d{10,}"),
    "alert key": re.compile(r"\b(?:lab|ae|mrd|visit|cycle|dose|interruption):\d+"),
}


def _main(response) -> str:
    assert response.status_code == 200
    body = response.content.decode()
    return body[body.index("<main") : body.index("</main>")]


def _no_internal_names(text: str) -> None:
    for what, pattern in INTERNAL.items():
        found = pattern.search(text)
        assert found is None, (
            f"{what}: {found and text[max(0, found.start() - 80) : found.end() + 80]}"
        )


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture
def monitor(site_a):
    return user_with_role(Role.MONITOR, site_a, username="mon.a")


@pytest.fixture
def treated(subject_a, investigator_a):
    """Subject 1-01 on blinatumomab: an interruption for hepatotoxicity (14-16 March), a high
    ALT while the infusion ran (an AL-HEP alert), an SAE linked to both."""
    baseline_for(subject_a, by=investigator_a)
    day11_for(subject_a, by=investigator_a)
    infusion = infusion_started_for(subject_a, by=investigator_a)
    panel = lab_panel_for(subject_a, by=investigator_a, days=12)  # 2026-03-14 08:00, ALT 250
    interruption = infusion_interrupt(
        record=infusion,
        started_at=timezone.make_aware(datetime.datetime(2026, 3, 14, 10, 0)),
        reason="hepatic",
        reason_other="",
        user=investigator_a,
    )
    interruption = infusion_restart(
        interruption=interruption,
        restarted_at=timezone.make_aware(datetime.datetime(2026, 3, 16, 9, 0)),
        ug_per_day=Decimal("9"),
        user=investigator_a,
    )
    event = serious_ae_for(subject_a, by=investigator_a)
    adverse_event_links_set(
        event, lab_values=[panel.values.get()], interruptions=[interruption], user=investigator_a
    )
    return {"infusion": infusion, "panel": panel, "interruption": interruption, "ae": event}


@pytest.mark.verifies("UR-SAF-01")
@pytest.mark.django_db
def test_the_ae_form_offers_the_interruption_by_its_dates_and_reason(
    client, subject_a, investigator_a, treated
):
    client.force_login(investigator_a)
    page = _main(client.get(reverse("safety:adverse_event_new", args=[subject_a.study_id])))
    assert "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)" in page
    assert "Lab panel 2026-03-14 08:00 CET, ALT 250 U/L" in page  # the related lab value
    _no_internal_names(page)


@pytest.mark.verifies("UR-ALR-01", "AL-HEP")
@pytest.mark.django_db
def test_an_alert_names_and_links_its_record_and_cites_the_rules_in_words(
    client, subject_a, investigator_a, treated
):
    # a lab value after the restart: the infusion runs, nothing covers it -> AL-HEP
    late = lab_panel_for(subject_a, by=investigator_a, days=15, alt="300")
    subject_evaluate(subject_a.pk)
    value = late.values.get()
    alert = Alert.objects.get(subject=subject_a, rule="AL-HEP", record=f"lab:{value.pk}")
    client.force_login(investigator_a)
    page = _main(client.get(reverse("alerts:detail", args=[alert.pk])))

    trigger = page[page.index('id="alert-trigger"') :]
    name = f"Lab panel {_local(late.sampled_at)}, ALT 300 U/L"
    assert f'<a href="{value.get_absolute_url()}">{name}</a>' in trigger
    reference = page[page.index('id="alert-reference"') :]
    protocol = reverse("protocol")
    assert reference.startswith('id="alert-reference">Protocol rules ')
    assert f'<a href="{protocol}#TX-HEP">TX-HEP</a>' in reference
    assert f'<a href="{protocol}#AL-HEP">AL-HEP</a>' in reference
    _no_internal_names(page)

    # the anchors are there on the protocol page, with what each rule says
    rules = _main(client.get(protocol))
    assert 'id="TX-HEP"' in rules and 'id="AL-HEP"' in rules and 'id="section-4"' in rules
    assert "Liver values" in rules[rules.index('id="TX-HEP"') :]


@pytest.mark.verifies("UR-ALR-01")
@pytest.mark.django_db
def test_an_alert_stored_with_a_file_reference_cites_the_rule_and_section(
    client, subject_a, investigator_a, treated
):
    alert = Alert.objects.create(
        subject=subject_a,
        rule="AL-HEP",
        record=f"interruption:{treated['interruption'].pk}",
        severity="urgent",
        message="ALT grade 3 during the infusion: interrupt.",
        reference="RULES.md 4 TX-HEP",
        actors=["investigator"],
        raised_at=timezone.now(),
    )
    client.force_login(investigator_a)
    page = _main(client.get(reverse("alerts:detail", args=[alert.pk])))
    protocol = reverse("protocol")
    assert "Protocol rule " in page and f'<a href="{protocol}#TX-HEP">TX-HEP</a>' in page
    assert f'<a href="{protocol}#section-4">4 Toxicity during the infusion</a>' in page
    assert "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)</a>" in page
    _no_internal_names(page)


def _mrd_result(subject, investigator):
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    sample = sample_record(
        subject=subject,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 15),
        user=investigator,
    )
    result = result_save(
        MrdResult(
            sample=sample,
            method="qpcr",
            report_date=sample.sampled_on,
            result_class="quantifiable",
            value=Decimal("0.0025"),
        ),
        user=lab,
    )
    result.value = Decimal("0.0031")
    return result_save(result, user=lab, reason="recalculated")


@pytest.mark.verifies("UR-MON-01")
@pytest.mark.django_db
def test_the_subject_audit_trail_and_its_csv_read_in_the_trials_words(
    client, subject_a, investigator_a, monitor, treated
):
    _mrd_result(subject_a, investigator_a)
    client.force_login(monitor)
    url = reverse("monitoring:subject_audit", args=[subject_a.study_id])
    page = _main(client.get(url, {"form": "MRD result"}))
    assert "MRD W11 qPCR (2026-05-15)" in page
    assert "MRD value" in page and "0.0025" in page and "0.0031" in page
    _no_internal_names(page)

    # a reference to the subject, to a parent record, and the interruption's AE link
    page = _main(client.get(url, {"form": "Blinatumomab interruption"}))
    assert "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)" in page
    assert "Blinatumomab cycle 1 (from 2026-03-13)" in page  # the cycle it belongs to
    _no_internal_names(page)
    page = _main(client.get(url, {"form": "Baseline"}))
    assert ">1-01<" in page  # the subject field by its study ID
    assert "CNS status" in page and "IG/TR target available for MRD" in page
    assert "Cns status" not in page and "Ig/tr" not in page
    _no_internal_names(page)

    exported = client.get(url, {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert {r["record"] for r in rows} >= {
        "Baseline",
        "Subject 1-01",
        "MRD W11 qPCR (2026-05-15)",
        "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)",
    }
    mrd = [r for r in rows if r["field"] == "MRD value" and r["reason"] == "recalculated"]
    assert [(r["old_value"], r["new_value"]) for r in mrd] == [("0.0025", "0.0031")]
    links = [
        r for r in rows if r["form"] == "AE–interruption link" and r["field"] == "Interruption"
    ]
    assert (
        links and links[0]["new_value"] == "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)"
    )
    for row in rows:
        _no_internal_names(" | ".join(row.values()))


@pytest.mark.verifies("UR-MON-03", "UR-LCK-01")
@pytest.mark.django_db
def test_the_records_for_review_and_the_lock_list_name_each_record(
    client, subject_a, investigator_a, monitor, treated
):
    data_manager = user_with_role(Role.DATA_MANAGER, username="dm")
    query_open(record=treated["panel"], text="Source?", user=monitor)
    lock_create(
        level=Lock.Level.FORM, subject=subject_a, record=treated["interruption"],
        reason="interim", user=data_manager,
    )  # fmt: skip
    client.force_login(monitor)
    review = _main(client.get(reverse("monitoring:subject_review", args=[subject_a.study_id])))
    for name in (
        "Baseline",
        "Subject 1-01",
        "Day-11 marrow (2026-03-12)",
        "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)",
        "Lab panel 2026-03-14 08:00 CET",
        "SAE Alanine aminotransferase increased, grade 3 (onset 2026-03-15)",
    ):
        assert f"<td>{name}" in review, name
    _no_internal_names(review)

    queries = _main(client.get(reverse("monitoring:query_list")))
    assert "Lab panel 2026-03-14 08:00 CET</a>" in queries

    client.force_login(data_manager)
    locks = _main(client.get(reverse("monitoring:locks")))
    assert "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity), subject 1-01" in locks
    _no_internal_names(locks)


# --- Every model names itself ------------------------------------------------------------------

# Models of the apps that hold the trial's data, and what their name must not be.
APPS = ("crf", "safety", "mrd", "monitoring", "alerts")


def _concrete_models():
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label in APPS and not m._meta.label.split(".")[1].startswith("Historical")
    ]


@pytest.mark.verifies("UR-MON-01")
@pytest.mark.parametrize("model", _concrete_models(), ids=lambda m: m._meta.label)
def test_every_model_has_its_own_name(model):
    assert model.__str__ is not models.Model.__str__, f"{model._meta.label} has no __str__"


@pytest.fixture
def casebook(subject_a, investigator_a, monitor, treated):
    """A record of every clinical kind for subject 1-01."""
    by = investigator_a
    course_for(subject_a, by=by, phase="induction_1", start_date=datetime.date(2026, 3, 9))
    record_save(
        IntrathecalAdministration(
            subject=subject_a, administered_on=datetime.date(2026, 3, 10), phase="induction_1",
            cytarabine_mg=Decimal("40"), dexamethasone_mg=Decimal("4"),
            methotrexate_mg=Decimal("15"),
        ),
        user=by,
    )  # fmt: skip
    record_save(
        ResponseAssessment(
            subject=subject_a, assessed_on=datetime.date(2026, 4, 10), response="CR"
        ),
        user=by,
    )
    _mrd_result(subject_a, by)
    record_save(
        MrdTriggeredBlinatumomab(
            subject=subject_a, start_date=datetime.date(2026, 7, 6),
            end_date=datetime.date(2026, 8, 30), cycles=2, dose_ug_per_day=Decimal("28.0"),
            cd19_reconfirmed=True, cd19_date=datetime.date(2026, 7, 1),
        ),
        user=by,
    )  # fmt: skip
    record_save(
        SalvageTherapy(
            subject=subject_a, start_date=datetime.date(2026, 9, 1), regimen="inotuzumab",
            indication="relapse",
        ),
        user=by,
    )  # fmt: skip
    record_save(
        Transplant(
            subject=subject_a, transplant_date=datetime.date(2026, 9, 20), in_first_cr=False,
            reason="physician",
        ),
        user=by,
    )  # fmt: skip
    record_save(
        Relapse(subject=subject_a, relapse_date=datetime.date(2026, 8, 20), kind="molecular"),
        user=by,
    )
    record_save(
        SecondMalignancy(
            subject=subject_a, diagnosis_date=datetime.date(2026, 10, 1), diagnosis="MDS"
        ),
        user=by,
    )
    record_save(
        FollowUpContact(
            subject=subject_a, last_known_alive=datetime.date(2026, 10, 5), in_remission=False
        ),
        user=by,
    )
    record_save(
        Death(subject=subject_a, death_date=datetime.date(2026, 10, 20), cause="infection"),
        user=by,
    )
    record_save(
        EndOfStudy(subject=subject_a, end_date=datetime.date(2026, 10, 20), reason="death"),
        user=by,
    )
    event = treated["ae"]
    record_save(
        SaeFollowUp(
            adverse_event=event,
            reported_at=timezone.make_aware(datetime.datetime(2026, 3, 17, 12, 0)),
            report="resolved",
        ),
        user=by,
    )
    record_save(
        ProtocolDecision(
            subject=subject_a, kind="hep_justification", about="lab:1",
            decided_on=datetime.date(2026, 3, 16), details="continued",
        ),
        user=by,
    )  # fmt: skip
    record_verify(record=event, user=monitor)
    query_open(record=event, field_name="grade", text="Grade?", user=monitor)
    subject_evaluate(subject_a.pk)
    return subject_a


# The names of some records, as the trial writes them (the others: no internal name).
EXPECTED = {
    "Subject 1-01",
    "Baseline",
    "Day-11 marrow (2026-03-12)",
    "Blinatumomab cycle 1 (from 2026-03-13)",
    "Start 9 µg/day, 2026-03-13 09:00 CET",
    "Interruption 2026-03-14 to 2026-03-16 (hepatotoxicity)",
    "Lab panel 2026-03-14 08:00 CET",
    "Lab panel 2026-03-14 08:00 CET, ALT 250 U/L",
    "SAE Alanine aminotransferase increased, grade 3 (onset 2026-03-15)",
    "Follow-up 2026-03-17 of SAE Alanine aminotransferase increased, grade 3 (onset 2026-03-15)",
    "Induction I course (2026-03-09)",
    "Intrathecal 2026-03-10 (Induction I)",
    "Day-40 response: Complete remission (CR) (2026-04-10)",
    "MRD W11 qPCR (2026-05-15)",
    "MRD-triggered blinatumomab 2026-07-06 to 2026-08-30: 2 cycles at 28 µg/day",
    "Salvage therapy 2026-09-01: Inotuzumab ozogamicin (Relapse)",
    "HSCT 2026-09-20 (Physician's decision)",
    "Molecular relapse 2026-08-20",
    "Second malignancy 2026-10-01: MDS",
    "Follow-up: alive on 2026-10-05",
    "Death 2026-10-20: infection",
    "End of study 2026-10-20: Death",
    "Decision: Justification: infusion continued (2026-03-16)",
}


@pytest.mark.verifies("UR-REC-05", "UR-MON-01")
@pytest.mark.django_db
def test_the_name_of_every_record_of_a_casebook(casebook):
    names = {}
    for model in [*clinical_models(), Alert, ProtocolDecision, *_monitoring_models()]:
        for record in model.objects.all():
            names.setdefault(model._meta.label, []).append(str(record))
    for label in ("crf.Visit", "crf.InfusionDoseChange", "safety.AdverseEventInterruptionLink",
                  "safety.AdverseEventLabLink", "alerts.Alert", "monitoring.Query",
                  "monitoring.SourceVerification"):  # fmt: skip
        assert names.get(label), f"no {label} in the casebook"
    every = {name for group in names.values() for name in group}
    assert EXPECTED <= every, EXPECTED - every
    for label, group in names.items():
        for name in group:
            _no_internal_names(name)
            assert "None" not in name and name.strip() == name, (label, name)
    assert "Visit Week 11" not in every and any(n.startswith("Visit week 11") for n in every)


def _monitoring_models():
    from monitoring.models import Query, SourceVerification

    return [Query, SourceVerification]


@pytest.mark.verifies("UR-SAF-01", "UR-MRD-01")
@pytest.mark.parametrize(
    ("model", "field", "label"),
    [
        (AdverseEvent, "ice_orientation", "ICE: orientation (0–4)"),
        (AdverseEvent, "ice_attention", "ICE: attention (0–1)"),
        (AdverseEvent, "susar", "SUSAR (suspected unexpected serious adverse reaction)"),
        (AdverseEvent, "grade", "CTCAE grade"),
        (MrdResult, "value", "MRD value"),
        (Visit, "planned_date", "planned date"),
        (InfusionInterruption, "started_at", "interrupted"),
    ],
)
def test_labels_as_clinicians_write_them(model, field, label):
    assert str(model._meta.get_field(field).verbose_name) == label


@pytest.mark.verifies("UR-ENR-02", "UR-DOS-01")
@pytest.mark.django_db
def test_cd20_is_yes_no_or_unknown_and_only_yes_plans_rituximab(subject_a, investigator_a):
    from crf.models import Baseline
    from crf.services.treatment import phase_drugs

    baseline = baseline_for(subject_a, by=investigator_a, cd20_positive="unknown")
    assert baseline.get_cd20_positive_display() == "Unknown"
    course = course_for(subject_a, by=investigator_a, phase="consolidation_1")
    assert "RIT" not in {d.drug for d in phase_drugs(course)}
    baseline.cd20_positive = Baseline.Cd20.YES
    audited_save(baseline, user=investigator_a, reason="flow report")
    assert "RIT" in {d.drug for d in phase_drugs(course)}


@pytest.mark.verifies("UR-ALR-01", "AL-HEP")
@pytest.mark.django_db
def test_the_alert_email_names_the_record_and_the_rules(subject_a, investigator_a, treated):
    from alerts.services import _mail_text

    late = lab_panel_for(subject_a, by=investigator_a, days=15, alt="300")
    subject_evaluate(subject_a.pk)
    value = late.values.get()
    alert = Alert.objects.get(subject=subject_a, rule="AL-HEP", record=f"lab:{value.pk}")
    text = _mail_text(subject_a, alert)
    assert "Triggered by: Lab panel 2026-03-17 08:00 CET, ALT 300 U/L" in text
    assert "Protocol reference: Protocol rules TX-HEP, AL-HEP" in text
    _no_internal_names(text)


@pytest.mark.verifies("UR-MON-03")
@pytest.mark.django_db
def test_sdv_pages_name_the_verified_fields_by_their_labels(
    client, subject_a, investigator_a, monitor
):
    from crf.models import Baseline

    baseline = baseline_for(subject_a, by=investigator_a)
    record_verify(record=baseline, user=monitor, fields=["weight_kg", "cns_status"])
    baseline = Baseline.objects.get(pk=baseline.pk)
    baseline.weight_kg = Decimal("74")
    record_save(baseline, user=investigator_a, reason="re-weighed")
    client.force_login(monitor)
    page = _main(client.get(reverse("monitoring:sdv_changed")))
    assert "CNS status, Weight (kg)" in page and "weight_kg" not in page
    _no_internal_names(page)


@pytest.mark.verifies("UR-LCK-02", "UR-OPS-03")
def test_a_signature_is_named_on_the_site_clock_with_its_zone():
    from datetime import UTC, datetime

    from monitoring.models import Signature

    signature = Signature(
        printed_name="Dr. Nováková", signed_at=datetime(2026, 11, 30, 9, 26, tzinfo=UTC)
    )
    assert str(signature) == "Signed by Dr. Nováková on 2026-11-30 10:26 CET"
