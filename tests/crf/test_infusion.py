"""The blinatumomab infusion log through the browser forms and the services."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crf.models import BlinatumomabInfusion, InfusionInterruption
from crf.services.infusion import infusion_summary
from tests.factories import day11_for, enrol, infusion_started_for

pytestmark = pytest.mark.verifies("UR-DOS-02")


def _local(day: datetime.date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}"


def _study_date(subject, study_day: int) -> datetime.date:
    return subject.day1_date + datetime.timedelta(days=study_day - 1)


def _post(client, subject, action, **fields):
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return client.post(reverse("crf:infusion_action", args=[subject.study_id, action]), data)


@pytest.mark.django_db
def test_start_needs_the_day11_blasts(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = _post(
        client, subject_a, "start", started_at=_local(_study_date(subject_a, 12), 9), ug_per_day="9"
    )
    assert "Record the day-11 marrow blasts first" in response.content.decode()
    assert not BlinatumomabInfusion.objects.exists()


@pytest.mark.verifies("BD-1")
@pytest.mark.django_db
@pytest.mark.parametrize(("blasts", "expected"), [("50", "28"), ("51", "9")])
def test_start_dose_follows_bd1_by_blasts(site_a, investigator_a, blasts, expected):
    # Study day 12 before the amendment (2020-06-01): version 1, BD-1.
    subject = enrol(site_a, by=investigator_a, day1_date=datetime.date(2020, 3, 2))
    day11_for(subject, by=investigator_a, blasts=blasts)
    summary = infusion_summary(subject)
    assert summary.plan[0].ug_per_day == Decimal(expected)


@pytest.mark.verifies("BD-2", "BL-1")
@pytest.mark.django_db
def test_start_interrupt_restart_and_days_given(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    d12 = _study_date(subject_a, 12)
    page = client.get(reverse("crf:infusion", args=[subject_a.study_id])).content.decode()
    assert "9 µg/day on infusion days 1–7, then 28 µg/day" in page  # BD-2
    _post(client, subject_a, "start", started_at=_local(d12, 9), ug_per_day="9")
    cycle = BlinatumomabInfusion.objects.get()
    assert cycle.cycle == 1
    _post(
        client, subject_a, "interrupt",
        started_at=_local(d12 + datetime.timedelta(days=2), 9), reason="hepatic",
    )  # fmt: skip
    _post(
        client, subject_a, "restart",
        restarted_at=_local(d12 + datetime.timedelta(days=4), 9), ug_per_day="9",
    )  # fmt: skip
    interruption = InfusionInterruption.objects.get()
    assert interruption.ended_at is not None
    now = timezone.make_aware(
        datetime.datetime.combine(d12 + datetime.timedelta(days=10), datetime.time(9))
    )
    summary = infusion_summary(subject_a, now=now)
    assert summary.cycles[0].days_given == Decimal("8.0")  # 10 days minus a 2-day interruption
    page = client.get(reverse("crf:infusion", args=[subject_a.study_id])).content.decode()
    assert "of 28</strong> infusion days given" in page


@pytest.mark.django_db
def test_interruption_before_the_infusion_start_is_refused(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)  # day 12, 09:00
    client.force_login(investigator_a)
    response = _post(
        client, subject_a, "interrupt",
        started_at=_local(_study_date(subject_a, 11), 9), reason="crs",
    )  # fmt: skip
    assert "before" in response.content.decode()
    assert not InfusionInterruption.objects.exists()


@pytest.mark.django_db
def test_other_reason_needs_its_text(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    response = _post(
        client, subject_a, "interrupt",
        started_at=_local(_study_date(subject_a, 13), 9), reason="other", reason_other="",
    )  # fmt: skip
    assert "Describe the other reason." in response.content.decode()
    assert not InfusionInterruption.objects.exists()


@pytest.mark.django_db
def test_overlapping_interruptions_are_refused(subject_a, investigator_a):
    from django.core.exceptions import ValidationError

    from crf.services.infusion import infusion_interrupt, infusion_restart

    day11_for(subject_a, by=investigator_a)
    cycle = infusion_started_for(subject_a, by=investigator_a)
    at = lambda day, hour: timezone.make_aware(  # noqa: E731
        datetime.datetime.combine(_study_date(subject_a, day), datetime.time(hour))
    )
    first = infusion_interrupt(
        record=cycle, started_at=at(14, 8), reason="crs", reason_other="", user=investigator_a
    )
    infusion_restart(
        interruption=first, restarted_at=at(15, 8), ug_per_day=Decimal(9), user=investigator_a
    )
    with pytest.raises(ValidationError) as refusal:
        infusion_interrupt(
            record=cycle, started_at=at(15, 6), reason="crs", reason_other="", user=investigator_a
        )
    assert "overlap" in str(refusal.value).lower()
    assert InfusionInterruption.objects.count() == 1


@pytest.mark.django_db
def test_end_and_next_cycle(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    d12 = _study_date(subject_a, 12)
    refused = _post(
        client, subject_a, "end",
        ended_at=_local(d12 + datetime.timedelta(days=5), 9), end_reason="discontinued",
        discontinuation_reason="",
    )  # fmt: skip
    assert "Give the reason for discontinuation." in refused.content.decode()
    _post(
        client, subject_a, "end",
        ended_at=_local(d12 + datetime.timedelta(days=5), 9), end_reason="new_cycle",
        discontinuation_reason="",
    )  # fmt: skip
    _post(
        client, subject_a, "start",
        started_at=_local(d12 + datetime.timedelta(days=14), 9), ug_per_day="9",
    )  # fmt: skip
    assert list(BlinatumomabInfusion.objects.values_list("cycle", flat=True)) == [1, 2]


@pytest.mark.django_db
def test_a_dose_that_is_not_a_protocol_dose_is_refused(subject_a, investigator_a):
    from django.core.exceptions import ValidationError

    from crf.services.infusion import infusion_dose_change

    day11_for(subject_a, by=investigator_a)
    cycle = infusion_started_for(subject_a, by=investigator_a)
    at = timezone.make_aware(
        datetime.datetime.combine(_study_date(subject_a, 19), datetime.time(9))
    )
    with pytest.raises(ValidationError):
        infusion_dose_change(
            record=cycle, at=at, ug_per_day=Decimal(56), kind="step_up", user=investigator_a
        )
    assert cycle.dose_changes.count() == 1


@pytest.mark.django_db
@pytest.mark.verifies("TX-OTH", "BL-4")
def test_another_grade_3_reaction_is_an_interruption_with_its_reason_then_a_restart(
    subject_a, investigator_a
):
    """TX-OTH: no alert enforces it; the investigator records the interruption for the other
    adverse reaction with what it was, and the restart at the BL-4 dose."""
    from alerts.models import Alert
    from crf.services.infusion import infusion_interrupt, infusion_restart

    day11_for(subject_a, by=investigator_a)
    cycle = infusion_started_for(subject_a, by=investigator_a)
    at = lambda day, hour: timezone.make_aware(  # noqa: E731
        datetime.datetime.combine(_study_date(subject_a, day), datetime.time(hour))
    )
    interruption = infusion_interrupt(
        record=cycle, started_at=at(14, 8), reason="other",
        reason_other="grade 3 maculopapular rash", user=investigator_a,
    )  # fmt: skip
    infusion_restart(
        interruption=interruption, restarted_at=at(17, 8), ug_per_day=Decimal(9),
        user=investigator_a,
    )  # fmt: skip
    interruption.refresh_from_db()
    assert (interruption.reason, interruption.reason_other) == (
        "other",
        "grade 3 maculopapular rash",
    )
    assert interruption.history.first().history_change_reason == "infusion restarted"
    restart = cycle.dose_changes.get(kind="restart")
    assert restart.ug_per_day == Decimal(9)
    assert not Alert.objects.filter(subject=subject_a, rule__startswith="AL-HEP").exists()
