"""Test data built through the same services the app uses, so every row has its history."""

import datetime

import factory
from django.contrib.auth import get_user_model

from crf.models import ProtocolVersion, Role, Site
from crf.services import (
    membership_grant,
    protocol_version_create,
    site_create,
    subject_screen,
)

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SiteFactory(factory.Factory):
    class Meta:
        model = Site

    number = factory.Sequence(lambda n: n + 1)
    city = factory.Sequence(lambda n: f"City {n + 1}")
    name = factory.LazyAttribute(lambda o: f"University Hospital {o.city}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return site_create(user=None, **kwargs)


def user_with_role(role: str, site: Site | None = None, principal_investigator=False, **kwargs):
    user = UserFactory(**kwargs)
    membership = membership_grant(user=user, role=role, site=site, granted_by=None)
    if principal_investigator:
        from audit.services import audited_save

        membership.principal_investigator = True
        audited_save(membership, user=None, reason="principal investigator of the site")
    return user


ELIGIBLE = {
    "adult_at_consent": True,
    "untreated_ph_negative_bcp_all": True,
    "cd19_positive": True,
    "no_contraindication": True,
}
# Version 1 (BD-1) and the amendment, version 2 (BD-2): subjects with study day 12 before the
# amendment's date are treated under version 1.
AMENDMENT_DATE = datetime.date(2020, 6, 1)


def protocol_versions():
    if not ProtocolVersion.objects.exists():
        protocol_version_create(
            number=1, title="Original protocol", effective_date=datetime.date(2019, 1, 1),
            blinatumomab_rule="BD-1", user=None,
        )  # fmt: skip
        protocol_version_create(
            number=2, title="Amendment: reduced start dose", effective_date=AMENDMENT_DATE,
            blinatumomab_rule="BD-2", user=None,
        )  # fmt: skip
    return list(ProtocolVersion.objects.order_by("number"))


def enrol(site: Site, *, by=None, day1_date: datetime.date | None = None, consent_date=None):
    """Screen an eligible patient at `site` and return the enrolled subject."""
    investigator = by or user_with_role(Role.INVESTIGATOR, site)
    protocol_versions()
    day1 = day1_date or datetime.date(2026, 3, 2)
    screening = subject_screen(
        site=site,
        consent_date=consent_date or day1 - datetime.timedelta(days=3),
        consent_version="1.0",
        eligibility=ELIGIBLE,
        day1_date=day1,
        user=investigator,
    )
    return screening.subject


def baseline_for(subject, *, by, **overrides):
    from decimal import Decimal

    from crf.models import Baseline
    from crf.services import record_save

    values = dict(
        sex="F",
        year_of_birth=1985,
        height_cm=Decimal("170.0"),
        weight_kg=Decimal("75.0"),
        diagnosis_date=subject.day1_date - datetime.timedelta(days=5),
        leukocytes=Decimal("5.9"),
        marrow_blasts_percent=Decimal("81"),
        immunophenotype="B-II",
        cd20_positive="no",
        karyotype="normal",
        ph_like=False,
        ikzf1plus=False,
        kmt2a_rearranged=False,
        cns_status="CNS1",
        igtr_target_available=True,
    )
    values.update(overrides)
    return record_save(Baseline(subject=subject, **values), user=by)


def course_for(subject, *, by, phase="pre_induction", start_date=None, **overrides):
    from decimal import Decimal

    from crf.models import TreatmentCourse
    from crf.services import record_save

    values = dict(height_cm=Decimal("170.0"), weight_kg=Decimal("75.0"))
    values.update(overrides)
    course = TreatmentCourse(
        subject=subject, phase=phase, start_date=start_date or subject.day1_date, **values
    )
    return record_save(course, user=by)


def day11_for(subject, *, by, blasts="30"):
    from decimal import Decimal

    from crf.models import Day11Assessment
    from crf.services import record_save

    assessed = subject.day1_date + datetime.timedelta(days=10)
    record = Day11Assessment(
        subject=subject, assessed_on=assessed, marrow_blasts_percent=Decimal(blasts)
    )
    return record_save(record, user=by)


def infusion_started_for(subject, *, by, ug_per_day=None):
    from decimal import Decimal

    from django.utils import timezone

    from crf.services.infusion import infusion_start, start_plan

    start = timezone.make_aware(
        datetime.datetime.combine(subject.day1_date + datetime.timedelta(days=11), datetime.time(9))
    )
    dose = ug_per_day or start_plan(subject)[0].ug_per_day
    return infusion_start(subject=subject, started_at=start, ug_per_day=Decimal(dose), user=by)


def subject_on_infusion(site: Site, *, by):
    """A subject enrolled 20 days ago (day 1), with baseline and day-11 marrow, whose first
    blinatumomab cycle runs now."""
    from django.utils import timezone

    subject = enrol(site, by=by, day1_date=timezone.localdate() - datetime.timedelta(days=20))
    baseline_for(subject, by=by)
    day11_for(subject, by=by)
    infusion_started_for(subject, by=by)
    return subject


def lab_panel_for(subject, *, by, alt="250", uln="40", days=13):
    """A panel with one ALT value (grade 3 at 250 U/L with ULN 40)."""
    from decimal import Decimal

    from django.utils import timezone

    from safety.services import LabEntry, lab_panel_record

    sampled = timezone.make_aware(
        datetime.datetime.combine(
            subject.day1_date + datetime.timedelta(days=days), datetime.time(8)
        )
    )
    return lab_panel_record(
        subject=subject,
        sampled_at=sampled,
        local_lab="Hospital laboratory",
        entries=[LabEntry("alt", Decimal(alt), "U/L", lln=None, uln=Decimal(uln))],
        user=by,
    )


def serious_ae_for(subject, *, by, term="Alanine aminotransferase increased", grade=3, **extra):
    from django.utils import timezone

    from safety.models import AdverseEvent, CtcaeTerm
    from safety.services import adverse_event_record

    onset = subject.day1_date + datetime.timedelta(days=13)
    values = dict(
        term=CtcaeTerm.objects.get(term=term),
        verbatim="transaminases up",
        onset_date=onset,
        grade=grade,
        serious=True,
        criterion_hospitalisation=True,
        awareness_at=timezone.make_aware(datetime.datetime.combine(onset, datetime.time(10))),
        relationship_blinatumomab="probable",
        relationship_chemotherapy="unlikely",
        action_blinatumomab="interrupted",
        outcome="recovered",
    )
    values.update(extra)
    return adverse_event_record(AdverseEvent(subject=subject, **values), user=by)


def ctcae_terms_ensure():
    """The shipped CTCAE terms, reloaded after a transactional test's flush removed them."""
    import importlib

    from django.apps import apps

    from safety.models import CtcaeTerm

    if not CtcaeTerm.objects.exists():
        migration = importlib.import_module("safety.migrations.0002_shipped_ctcae_terms")
        migration.load(apps, None)
