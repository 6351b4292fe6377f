"""Load the demo study: the trial's four sites, one user per role, a few enrolled subjects.

Idempotent: a second run finds everything in place and changes nothing.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audit.services import audited_save
from crf.models import (
    Baseline,
    Day11Assessment,
    Membership,
    ProtocolVersion,
    ResponseAssessment,
    Role,
    Site,
    Subject,
    TreatmentCourse,
)
from crf.services import (
    infusion,
    membership_grant,
    protocol_version_create,
    record_save,
    site_create,
    subject_screen,
)
from exports import stored_reports
from exports.reports import PERIODS, report_sites
from monitoring.models import Query
from monitoring.queries import query_answer, query_open
from monitoring.sdv import record_verify
from monitoring.signatures import signature_create
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from protocol import schedule
from safety.models import AdverseEvent, CtcaeTerm, SiteLabRange
from safety.services import LabEntry, adverse_event_record, lab_panel_record

SITES = [
    (1, "Prague", "Institute of Hematology and Blood Transfusion"),
    (2, "Brno", "University Hospital Brno"),
    (3, "Ostrava", "University Hospital Ostrava"),
    (4, "Hradec Králové", "University Hospital Hradec Králové"),
]
# username, role, site numbers (None = all sites), staff
USERS = [
    ("investigator.prague", Role.INVESTIGATOR, [1], False),
    ("investigator.brno", Role.INVESTIGATOR, [2], False),
    ("monitor", Role.MONITOR, [1, 2], False),
    ("centrallab", Role.CENTRAL_LAB, None, False),
    ("datamanager", Role.DATA_MANAGER, None, False),
    ("sponsor", Role.SPONSOR, None, False),
    ("admin", None, None, True),
]
# Signs the casebooks of site 1 (Membership.principal_investigator).
PRINCIPAL_INVESTIGATOR = "investigator.prague"
# Subjects enrolled per site in the demo, with study day 1 this many days ago.
DEMO_SUBJECTS = {1: [120, 60, 14], 2: [90, 30]}
# Each demo site's laboratory reference ranges (the defaults of its lab panels): plausible adult
# ranges in the standard unit of each test (protocol.ctcae.STANDARD_UNIT); LLN None = not given.
DEMO_LAB_RANGES = {
    "alt": ("U/L", "0", "40"),
    "ast": ("U/L", "0", "40"),
    "bilirubin": ("µmol/L", "2", "21"),
    "ggt": ("U/L", "0", "55"),
    "alp": ("U/L", "40", "130"),
    "neutrophils": ("10^9/L", "2", "7"),
    "platelets": ("10^9/L", "150", "400"),
    "wbc": ("10^9/L", "4", "10"),
    "haemoglobin": ("g/L", "120", "160"),
    "fibrinogen": ("g/L", "1.8", "4"),
    "albumin": ("g/L", "35", "52"),
    "phosphate": ("mmol/L", "0.8", "1.5"),
    "creatinine": ("µmol/L", "44", "104"),
    "potassium": ("mmol/L", "3.5", "5.1"),
}
# Protocol version 1 and the amendment (version 2); their dates are the demo's, not published.
PROTOCOL_VERSIONS = [
    (1, "Original protocol", date(2019, 5, 1), "BD-1"),
    (2, "Amendment 1: reduced blinatumomab dose for the first 7 days", date(2020, 6, 1), "BD-2"),
]
ELIGIBLE = {
    "adult_at_consent": True,
    "untreated_ph_negative_bcp_all": True,
    "cd19_positive": True,
    "no_contraindication": True,
}


class Command(BaseCommand):
    help = "Load the demo study (sites, users for every role, a few subjects). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="Password for new demo users.")
        parser.add_argument(
            "--force", action="store_true", help="Allow with DEBUG off (never on a live study)."
        )

    @transaction.atomic
    def handle(self, *args, password, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("The demo study is for DEBUG installations; pass --force to insist.")
        User = get_user_model()
        system, _ = User.objects.get_or_create(
            username="system", defaults={"is_active": False, "first_name": "System"}
        )
        sites = {}
        for number, city, name in SITES:
            site = Site.objects.filter(number=number).first()
            sites[number] = site or site_create(number=number, name=name, city=city, user=system)
        for site in sites.values():
            _demo_lab_ranges(site, system)
        created = []
        for username, role, site_numbers, staff in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, is_staff=staff, is_superuser=staff)
                user.set_password(password)
                user.save()
                created.append(username)
            if role is None:
                continue
            for site in [sites[n] for n in site_numbers] if site_numbers else [None]:
                if not Membership.objects.filter(user=user, role=role, site=site).exists():
                    membership_grant(user=user, role=role, site=site, granted_by=system)
        principal = Membership.objects.get(
            user__username=PRINCIPAL_INVESTIGATOR, role=Role.INVESTIGATOR, site=sites[1]
        )
        if not principal.principal_investigator:
            principal.principal_investigator = True
            audited_save(principal, user=system, reason="principal investigator of the site")
        for number, title, effective, rule in PROTOCOL_VERSIONS:
            if not ProtocolVersion.objects.filter(number=number).exists():
                protocol_version_create(
                    number=number,
                    title=title,
                    effective_date=effective,
                    blinatumomab_rule=rule,
                    user=system,
                )
        today = timezone.localdate()
        for number, days_ago in DEMO_SUBJECTS.items():
            site = sites[number]
            investigator = Membership.objects.filter(role=Role.INVESTIGATOR, site=site).first()
            for ago in days_ago[Subject.objects.filter(site=site).count() :]:
                day1 = today - timedelta(days=ago)
                subject_screen(
                    site=site,
                    consent_date=day1 - timedelta(days=2),
                    consent_version="2.0",
                    eligibility=ELIGIBLE,
                    day1_date=day1,
                    user=investigator.user,
                )
        first = Subject.objects.filter(site=sites[1]).order_by("sequence").first()
        if first is not None and not Baseline.objects.filter(subject=first).exists():
            investigator = Membership.objects.filter(role=Role.INVESTIGATOR, site=sites[1]).first()
            _demo_treatment(first, investigator.user)
            _demo_mrd(first, investigator.user, User.objects.get(username="centrallab"))
            _demo_safety(first, investigator.user)
        if first is not None:
            _demo_monitoring(first, password)
        computed = _demo_reports()
        self.stdout.write(
            f"Demo study ready: {Site.objects.count()} sites, {Subject.objects.count()} subjects"
            + f", {computed} study report{'s' if computed != 1 else ''} computed"
            + (f"; new users: {', '.join(created)}" if created else "; nothing new.")
        )


def _demo_reports() -> int:
    """The study reports of the demo users' reach, and of each of their sites alone, computed
    now (those not current), so that the reports are ready when the web starts."""
    scopes = set()
    for user in get_user_model().objects.filter(username__in=[u[0] for u in USERS]):
        numbers = tuple(report_sites(user).order_by("number").values_list("number", flat=True))
        if numbers:
            scopes.add(numbers)
            scopes.update((n,) for n in numbers)
    return stored_reports.prepare((numbers, PERIODS[0]) for numbers in sorted(scopes))


def _demo_lab_ranges(site: Site, user) -> None:
    """The site's reference ranges, those it has not set yet (a range set since is kept)."""
    stored = set(SiteLabRange.objects.filter(site=site).values_list("test", flat=True))
    for test, (unit, lln, uln) in DEMO_LAB_RANGES.items():
        if test not in stored:
            audited_save(
                SiteLabRange(site=site, test=test, unit=unit, lln=Decimal(lln), uln=Decimal(uln)),
                user=user,
                reason="demo site's laboratory reference range",
            )


def _demo_monitoring(subject: Subject, password: str) -> None:
    """A query answered and one open, the other fields of the record verified (a field with an
    unresolved query cannot be), and the casebook signed (once)."""

    if Query.objects.filter(subject=subject, origin=Query.Origin.MANUAL).exists():
        return
    User = get_user_model()
    monitor = User.objects.get(username="monitor")
    principal = User.objects.get(username=PRINCIPAL_INVESTIGATOR)
    baseline = Baseline.objects.get(subject=subject)
    answered = query_open(
        record=baseline, field_name="weight_kg", text="The source says 81 kg: please check.",
        user=monitor,
    )  # fmt: skip
    query_answer(query=answered, text="82 kg is right: weighed again on admission.", user=principal)
    query_open(
        record=baseline, field_name="leukocytes", text="Leukocytes on the day of diagnosis?",
        user=monitor,
    )  # fmt: skip
    record_verify(
        record=baseline,
        user=monitor,
        fields=["sex", "year_of_birth", "height_cm", "diagnosis_date"],
    )
    signature_create(subject=subject, password=password, user=principal)


def _at(subject: Subject, study_day: int, hour: int) -> datetime:
    day = schedule.date_of_study_day(subject.day1_date, study_day)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _demo_treatment(subject: Subject, user) -> None:
    """The first Prague subject's story so far: baseline, Pre-Induction, day 11, a blinatumomab
    cycle with one hepatic interruption, the day-40 response and Induction II."""
    record_save(
        Baseline(
            subject=subject,
            sex="M",
            year_of_birth=1984,
            height_cm=Decimal("178"),
            weight_kg=Decimal("82"),
            diagnosis_date=subject.day1_date - timedelta(days=4),
            leukocytes=Decimal("5.9"),
            marrow_blasts_percent=Decimal("81"),
            immunophenotype="B-II",
            cd20_positive="yes",
            karyotype="normal",
            ph_like=False,
            ikzf1plus=False,
            kmt2a_rearranged=False,
            cns_status="CNS1",
            igtr_target_available=True,
        ),
        user=user,
    )
    for phase, day in (("pre_induction", 1), ("induction_1", 12)):
        record_save(
            TreatmentCourse(
                subject=subject,
                phase=phase,
                start_date=schedule.date_of_study_day(subject.day1_date, day),
                height_cm=Decimal("178"),
                weight_kg=Decimal("82"),
            ),
            user=user,
        )
    record_save(
        Day11Assessment(
            subject=subject,
            assessed_on=schedule.date_of_study_day(subject.day1_date, 11),
            marrow_blasts_percent=Decimal("5"),
        ),
        user=user,
    )
    cycle = infusion.infusion_start(
        subject=subject, started_at=_at(subject, 12, 9), ug_per_day=Decimal(9), user=user
    )
    interruption = infusion.infusion_interrupt(
        record=cycle, started_at=_at(subject, 14, 8), reason="hepatic", reason_other="", user=user
    )
    infusion.infusion_restart(
        interruption=interruption, restarted_at=_at(subject, 16, 10), ug_per_day=Decimal(9),
        user=user,
    )  # fmt: skip
    infusion.infusion_dose_change(
        record=cycle, at=_at(subject, 23, 10), ug_per_day=Decimal(28), kind="step_up", user=user
    )
    infusion.infusion_end(
        record=cycle, ended_at=_at(subject, 42, 11), end_reason="completed",
        discontinuation_reason="", user=user,
    )  # fmt: skip
    record_save(
        ResponseAssessment(
            subject=subject,
            assessed_on=schedule.date_of_study_day(subject.day1_date, 42),
            response="CR",
        ),
        user=user,
        confirmed={"visit_out_of_window"},
    )
    record_save(
        TreatmentCourse(
            subject=subject,
            phase="induction_2",
            start_date=schedule.date_of_study_day(subject.day1_date, 50),
            height_cm=Decimal("178"),
            weight_kg=Decimal("80"),
        ),
        user=user,
    )


def _demo_mrd(subject: Subject, investigator, lab) -> None:
    """D40 positive not quantifiable, W11 qPCR PNQ re-tested negative by NGS, W18 awaiting."""

    def sample(timepoint: str, day: int):
        return sample_record(
            subject=subject,
            timepoint=timepoint,
            material="bone_marrow",
            sampled_on=schedule.date_of_study_day(subject.day1_date, day),
            user=investigator,
        )

    def result(on, method, result_class, **values):
        report = on.sampled_on + timedelta(days=7)
        result_save(
            MrdResult(sample=on, method=method, result_class=result_class, report_date=report,
                      markers="IGH VDJ; TRG", **values),
            user=lab,
        )  # fmt: skip

    d40 = sample("D40", 42)
    result(d40, "qpcr", "pnq", quantitative_range=Decimal("1E-4"), sensitivity=Decimal("1E-5"))
    w11 = sample("W11", 74)
    result(w11, "qpcr", "pnq", quantitative_range=Decimal("1E-4"), sensitivity=Decimal("1E-5"))
    result(w11, "ngs", "negative", sensitivity=Decimal("1E-6"))
    sample("W18", 120)


def _demo_safety(subject: Subject, user) -> None:
    """ALT rising on day 14 of the infusion (grade 3) reported as an AE, and a grade 1 CRS."""

    def panel(day: int, alt: str, ast: str):
        return lab_panel_record(
            subject=subject,
            sampled_at=_at(subject, day, 7),
            local_lab="IHBT central laboratory",
            entries=[
                LabEntry("alt", Decimal(alt), "U/L", uln=Decimal(40)),
                LabEntry("ast", Decimal(ast), "U/L", uln=Decimal(40)),
                LabEntry("bilirubin", Decimal(12), "µmol/L", uln=Decimal(21)),
                LabEntry("platelets", Decimal(62), "10^9/L", lln=Decimal(150)),
            ],
            user=user,
        )

    panel(-2, "28", "30")
    high = panel(14, "262", "150")
    panel(16, "75", "52")
    day = schedule.date_of_study_day
    adverse_event_record(
        AdverseEvent(
            subject=subject,
            term=CtcaeTerm.objects.get(term="Alanine aminotransferase increased"),
            verbatim="ALT elevation on blinatumomab",
            onset_date=day(subject.day1_date, 14),
            end_date=day(subject.day1_date, 20),
            grade=3,
            relationship_blinatumomab="probable",
            relationship_chemotherapy="possible",
            action_blinatumomab="interrupted",
            outcome="recovered",
        ),
        user=user,
        lab_values=list(high.values.filter(test="alt")),
    )
    adverse_event_record(
        AdverseEvent(
            subject=subject,
            term=CtcaeTerm.objects.get(term="Cytokine release syndrome"),
            verbatim="fever 38.6 after start",
            onset_date=day(subject.day1_date, 12),
            end_date=day(subject.day1_date, 13),
            grade=1,
            crs_fever=True,
            crs_hypotension="none",
            crs_oxygen="none",
            relationship_blinatumomab="definite",
            relationship_chemotherapy="not_related",
            action_blinatumomab="none",
            outcome="recovered",
        ),
        user=user,
    )
