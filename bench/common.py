"""Shared set-up of the benchmarks: a database of their own and a generated study."""

from __future__ import annotations

import datetime
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
BENCH_DATABASE = "blinacell_bench"


def setup_bench_database(name: str = BENCH_DATABASE) -> None:
    """Django against a fresh database (`blinacell_bench` unless named) on the configured
    PostgreSQL."""
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blinacell_site.settings")
    os.environ["DEBUG"] = "1"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if settings.DATABASES["default"]["NAME"] == name:  # a second size in the same run
        connection.close()
        settings.DATABASES["default"]["NAME"] = "postgres"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    call_command("migrate", verbosity=0)


def generate_study(
    subjects: int,
    *,
    seed_user=None,
    with_history: bool = False,
    lab_panels: int = 10,
    day1_days_ago: int = 60,
) -> list[int]:
    """`subjects` enrolled subjects with a full treatment history each: baseline, day 11, a
    blinatumomab cycle with a step-up and an interruption, `lab_panels` lab panels of 4 values,
    3 adverse events, 3 MRD results, the day-40 response and 4 visits. Written in bulk, spread
    over the four sites, study day 1 `day1_days_ago` days ago or earlier; with `with_history`,
    each record also gets its creation history row."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from crf.models import (
        Baseline,
        BlinatumomabInfusion,
        Day11Assessment,
        InfusionDoseChange,
        InfusionInterruption,
        ProtocolVersion,
        ResponseAssessment,
        Site,
        Subject,
        Visit,
    )
    from mrd.models import MrdResult, MrdSample
    from safety.models import AdverseEvent, CtcaeTerm, LabPanel, LabValue

    user = seed_user or get_user_model().objects.create(username=f"bench{subjects}")

    def bulk(model, rows, batch_size=2000):
        if with_history:
            return bulk_create_with_history(
                rows, model, batch_size=batch_size, default_user=user,
                default_change_reason="generated",
            )  # fmt: skip
        return model.objects.bulk_create(rows, batch_size=batch_size)

    if not ProtocolVersion.objects.exists():
        ProtocolVersion.objects.create(
            number=2, title="bench", effective_date=datetime.date(2019, 1, 1),
            blinatumomab_rule="BD-2",
        )  # fmt: skip
    version = ProtocolVersion.objects.first()
    sites = [
        Site.objects.get_or_create(number=n, defaults={"name": f"Site {n}", "city": f"City {n}"})[0]
        for n in (1, 2, 3, 4)
    ]
    alt = CtcaeTerm.objects.get(term="Alanine aminotransferase increased")
    crs = CtcaeTerm.objects.get(term="Cytokine release syndrome")
    start = Subject.objects.count()
    today = timezone.localdate()
    new = []
    for n in range(subjects):
        site = sites[n % 4]
        sequence = start + n + 1
        new.append(
            Subject(
                site=site, sequence=sequence, study_id=f"{site.number}-{sequence:05d}",
                day1_date=today - datetime.timedelta(days=day1_days_ago + n % 200),
                protocol_version=version, enrolled_by=user,
            )
        )  # fmt: skip
    bulk(Subject, new, batch_size=1000)
    baselines, day11s, responses, visits, cycles = [], [], [], [], []
    for s in new:
        baselines.append(
            Baseline(
                subject=s, sex="F", year_of_birth=1980, height_cm=Decimal(170),
                weight_kg=Decimal(70), bsa_m2=Decimal("1.82"), bsa_formula="Mosteller",
                diagnosis_date=s.day1_date, leukocytes=Decimal(6), marrow_blasts_percent=80,
                immunophenotype="B-II", cd20_positive="no", karyotype="normal", ph_like=False,
                ikzf1plus=False, kmt2a_rearranged=False, cns_status="CNS1",
                igtr_target_available=True,
            )
        )  # fmt: skip
        day = lambda n, s=s: s.day1_date + datetime.timedelta(days=n - 1)  # noqa: E731
        day11s.append(Day11Assessment(subject=s, assessed_on=day(11), marrow_blasts_percent=30))
        responses.append(ResponseAssessment(subject=s, assessed_on=day(40), response="CR"))
        for code, target in (("D11", 11), ("D40", 40), ("W11", 71), ("W18", 120)):
            visits.append(
                Visit(
                    subject=s, kind="assessment", code=code, name=code, planned_date=day(target),
                    window_start=day(target - 3), window_end=day(target + 3),
                    actual_date=day(target) if target < 100 else None,
                )
            )  # fmt: skip
        at = timezone.make_aware(datetime.datetime.combine(day(12), datetime.time(9)))
        cycles.append(
            BlinatumomabInfusion(
                subject=s, cycle=1, started_at=at, ended_at=at + datetime.timedelta(days=30),
                end_reason="completed",
            )
        )  # fmt: skip
    for model, rows in (
        (Baseline, baselines),
        (Day11Assessment, day11s),
        (ResponseAssessment, responses),
        (Visit, visits),
        (BlinatumomabInfusion, cycles),
    ):
        bulk(model, rows)
    doses, stops, panels = [], [], []
    for cycle in cycles:
        doses += [
            InfusionDoseChange(infusion=cycle, kind="start", at=cycle.started_at, ug_per_day=9),
            InfusionDoseChange(
                infusion=cycle, kind="step_up",
                at=cycle.started_at + datetime.timedelta(days=7), ug_per_day=28,
            ),
        ]  # fmt: skip
        stops.append(
            InfusionInterruption(
                infusion=cycle, started_at=cycle.started_at + datetime.timedelta(days=10),
                ended_at=cycle.started_at + datetime.timedelta(days=11), reason="crs",
            )
        )  # fmt: skip
        for k in range(lab_panels):
            panels.append(
                LabPanel(
                    subject_id=cycle.subject_id, local_lab="bench",
                    sampled_at=cycle.started_at
                    + datetime.timedelta(days=3 * (k % 10), hours=k // 10),
                )
            )  # fmt: skip
    bulk(InfusionDoseChange, doses)
    bulk(InfusionInterruption, stops)
    bulk(LabPanel, panels)
    values = []
    for p in panels:
        for test, value in (("alt", 60), ("ast", 50), ("bilirubin", 10), ("platelets", 90)):
            limit = {"uln": Decimal(40)} if test in ("alt", "ast") else {"uln": Decimal(21)}
            if test == "platelets":
                limit = {"lln": Decimal(150)}
            values.append(
                LabValue(
                    panel=p, test=test, value=value, unit="U/L" if test in ("alt", "ast") else
                    ("µmol/L" if test == "bilirubin" else "10^9/L"), standard_value=value,
                    standard_unit="", grade=1, grading_system="CTCAE 5.0", **limit,
                )
            )  # fmt: skip
    bulk(LabValue, values, batch_size=5000)
    aes, samples = [], []
    for s in new:
        onset = s.day1_date + datetime.timedelta(days=13)
        for term, grade in ((alt, 2), (crs, 1), (alt, 1)):
            aes.append(
                AdverseEvent(
                    subject=s, term=term, verbatim="bench", onset_date=onset, grade=grade,
                    grading_system="CTCAE 5.0", relationship_blinatumomab="possible",
                    relationship_chemotherapy="unlikely", action_blinatumomab="none",
                    outcome="recovered",
                )
            )  # fmt: skip
        for tp, d in (("D40", 40), ("W11", 74), ("W18", 121)):
            samples.append(
                MrdSample(
                    subject=s, accession=f"{s.study_id}-{tp}", timepoint=tp,
                    material="bone_marrow", sampled_on=s.day1_date + datetime.timedelta(days=d - 1),
                )
            )  # fmt: skip
    bulk(AdverseEvent, aes, batch_size=5000)
    bulk(MrdSample, samples, batch_size=5000)
    bulk(
        MrdResult,
        [
            MrdResult(
                sample=sample, method="qpcr", result_class="negative",
                sensitivity=Decimal("1E-5"), report_date=sample.sampled_on,
            )
            for sample in samples
        ],
        batch_size=5000,
    )  # fmt: skip
    return [s.pk for s in new]
