"""The life of an alert as the data change, evaluated in process (alerts.services): the queue
that carries the evaluation is proven once per path in test_end_to_end.py."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import subject_evaluate
from crf.models import ResponseAssessment, Role
from crf.services import record_save
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from tests.factories import baseline_for, enrol, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-ALR-01", "AL-MRD-TRIGGER", "MR-4")]


def _alert(subject, rule):
    return Alert.objects.filter(subject=subject, rule=rule).first()


def _w_sample(subject, investigator, timepoint, study_day):
    return sample_record(
        subject=subject,
        timepoint=timepoint,
        material="bone_marrow",
        sampled_on=subject.day1_date + datetime.timedelta(days=study_day - 1),
        user=investigator,
    )


def _in_cr(site, investigator, days_ago=140):
    subject = enrol(
        site, by=investigator,
        day1_date=timezone.localdate() - datetime.timedelta(days=days_ago),
    )  # fmt: skip
    baseline_for(subject, by=investigator)
    record_save(
        ResponseAssessment(
            subject=subject,
            assessed_on=subject.day1_date + datetime.timedelta(days=39),
            response="CR",
        ),
        user=investigator,
    )
    return subject


def test_mrd_at_week_18_asks_for_the_referral_but_not_at_week_11_or_pnq(site_a, investigator_a):
    lab = user_with_role(Role.CENTRAL_LAB, None)
    quantifiable = dict(result_class="quantifiable", value=Decimal("0.00023"))

    def report(sample, **values):
        return result_save(
            MrdResult(sample=sample, method="qpcr", report_date=sample.sampled_on, **values),
            user=lab,
        )

    w18 = _in_cr(site_a, investigator_a)
    report(_w_sample(w18, investigator_a, "W18", 120), **quantifiable)
    subject_evaluate(w18.pk)
    alert = _alert(w18, "AL-MRD-TRIGGER")
    assert "CD19" in alert.message and "data_manager" in alert.actors

    w11 = _in_cr(site_a, investigator_a)
    report(_w_sample(w11, investigator_a, "W11", 74), **quantifiable)
    pnq = _in_cr(site_a, investigator_a)
    report(_w_sample(pnq, investigator_a, "W18", 121), result_class="pnq")
    subject_evaluate(w11.pk)
    subject_evaluate(pnq.pk)
    assert _alert(w11, "AL-MRD-TRIGGER") is None
    assert _alert(pnq, "AL-MRD-TRIGGER") is None
