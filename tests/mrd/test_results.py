"""Samples from the sites, results from the central laboratory, read-only for everyone else."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from crf.models import Role
from mrd.models import MrdResult, MrdSample
from mrd.services import sample_record
from tests.factories import baseline_for, enrol, user_with_role

pytestmark = pytest.mark.verifies("UR-MRD-01")


def _result_url(sample, method="qpcr"):
    return reverse("mrd:result", args=[sample.accession, method])


RESULT = {
    "markers": "IGH VDJ",
    "result_class": "quantifiable",
    "value": "1,2E-4",
    "sensitivity": "1E-5",
    "quantitative_range": "1E-4",
    "report_date": "2026-05-20",
    "not_evaluable_reason": "",
    "comment": "",
}


@pytest.mark.django_db
def test_site_records_a_sample_and_the_lab_sees_it_waiting(
    client, subject_a, investigator_a, central_lab
):
    client.force_login(investigator_a)
    client.post(
        reverse("mrd:subject", args=[subject_a.study_id]),
        {"timepoint": "D40", "material": "bone_marrow", "sampled_on": "2026-04-10"},
    )
    sample_record(
        subject=subject_a, timepoint="W11", material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12), user=investigator_a,
    )  # fmt: skip
    assert list(MrdSample.objects.values_list("accession", flat=True)) == ["1-01-D40", "1-01-W11"]
    client.force_login(central_lab)
    response = client.get(reverse("mrd:worklist"))
    rows = response.context["rows"]
    assert [s.accession for s, _ in rows] == ["1-01-D40", "1-01-W11"]  # oldest first
    assert rows[0][1] == (datetime.date.today() - datetime.date(2026, 4, 10)).days


@pytest.mark.verifies("UR-REC-02", "MR-2")
@pytest.mark.django_db
def test_lab_enters_a_value_with_a_decimal_comma(client, w11_sample, central_lab, investigator_a):
    client.force_login(central_lab)
    response = client.post(_result_url(w11_sample), RESULT)
    assert response.status_code == 302
    result = MrdResult.objects.get()
    assert result.value == Decimal("0.00012")
    assert (result.history.get().history_user, result.created_by) == (central_lab, central_lab)
    # The site sees it read-only, in the lab's notation, with its derived class.
    client.force_login(investigator_a)
    page = client.get(reverse("mrd:subject", args=[w11_sample.subject.study_id])).content.decode()
    assert "1.2E-4" in page and "MRD failure (MR-2)" in page
    assert "correct</a>" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"value": "-1E-4"}, "value", "below zero"),
        ({"value": "0"}, "value", "above zero"),
        ({"value": "2"}, "value", "at most 1"),
        ({"value": "abc"}, "value", ""),
        ({"result_class": "negative", "value": "1E-4"}, "value", "no value"),
        (
            {"result_class": "negative", "value": "", "sensitivity": ""},
            "sensitivity",
            "sensitivity",
        ),
        ({"result_class": "quantifiable", "value": ""}, "value", ""),
        ({"result_class": "not_evaluable", "value": ""}, None, "not evaluable"),
        ({"report_date": "2026-05-01"}, "report_date", "sampling"),
    ],
)
def test_impossible_results_are_refused_and_nothing_saved(
    client, w11_sample, central_lab, change, field, message
):
    client.force_login(central_lab)
    response = client.post(_result_url(w11_sample), {**RESULT, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    text = " ".join(errors.get(field, [])) if field else " ".join(str(e) for e in errors.values())
    assert text, errors
    assert message.lower() in text.lower(), errors
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-REC-04", "UR-AUD-01")
@pytest.mark.django_db
def test_correction_needs_a_reason_and_keeps_the_first_version(client, w11_sample, central_lab):
    client.force_login(central_lab)
    client.post(_result_url(w11_sample), RESULT)
    result = MrdResult.objects.get()
    corrected = {**RESULT, "value": "2.3E-4", "version": "1"}
    refused = client.post(_result_url(w11_sample), corrected)
    assert refused.context["form"].errors["reason_for_change"] == ["This field is required."]
    client.post(_result_url(w11_sample), {**corrected, "reason_for_change": "transcription"})
    result.refresh_from_db()
    assert (result.value, result.version) == (Decimal("0.00023"), 2)
    values = [h.value for h in result.history.order_by("history_id")]
    assert values == [Decimal("0.00012"), Decimal("0.00023")]


@pytest.mark.verifies("MR-3")
@pytest.mark.django_db
def test_week11_pnq_gets_an_ngs_result_beside_it(client, w11_sample, central_lab):
    client.force_login(central_lab)
    client.post(_result_url(w11_sample), {**RESULT, "result_class": "pnq", "value": ""})
    client.post(
        _result_url(w11_sample, "ngs"),
        {**RESULT, "result_class": "negative", "value": "", "sensitivity": "1E-6"},
    )
    assert sorted(MrdResult.objects.values_list("method", "result_class")) == [
        ("ngs", "negative"),
        ("qpcr", "pnq"),
    ]


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER])
def test_only_the_central_lab_enters_results(client, site_a, w11_sample, role):
    client.force_login(user_with_role(role, site_a))
    assert client.post(_result_url(w11_sample), RESULT).status_code == 403
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_central_lab_cannot_edit_clinical_forms(client, subject_a, central_lab):
    client.force_login(central_lab)
    url = reverse("crf:record_new", args=[subject_a.study_id, "baseline"])
    assert client.post(url, {"sex": "F"}).status_code == 403
    sample = client.post(
        reverse("mrd:subject", args=[subject_a.study_id]),
        {"timepoint": "D40", "material": "bone_marrow", "sampled_on": "2026-04-10"},
    )
    assert sample.status_code == 403
    assert not MrdSample.objects.exists()


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_site_b_cannot_see_site_a_results(client, w11_sample, site_b):
    client.force_login(user_with_role(Role.INVESTIGATOR, site_b))
    url = reverse("mrd:subject", args=[w11_sample.subject.study_id])
    assert client.get(url).status_code == 404


@pytest.mark.verifies("UR-MRD-03", "MR-3")
@pytest.mark.django_db
def test_cohort_counts_evaluable_patients_with_ngs_deciding_at_w11(
    client, site_a, investigator_a, central_lab
):
    from crf.models import ResponseAssessment
    from crf.services import record_save
    from mrd.models import MrdResult as Result

    def patient(w11_results):
        subject = enrol(site_a, by=investigator_a)
        baseline_for(subject, by=investigator_a)
        record_save(
            ResponseAssessment(
                subject=subject, assessed_on=datetime.date(2026, 4, 10), response="CR"
            ),
            user=investigator_a,
            confirmed={"visit_out_of_window"},
        )
        sample = sample_record(
            subject=subject, timepoint="W11", material="bone_marrow",
            sampled_on=datetime.date(2026, 5, 12), user=investigator_a,
        )  # fmt: skip
        for method, cls, value, sens in w11_results:
            from mrd.services import result_save

            result_save(
                Result(sample=sample, method=method, result_class=cls, value=value,
                       sensitivity=sens, report_date=datetime.date(2026, 5, 20)),
                user=central_lab,
            )  # fmt: skip

    patient([("qpcr", "negative", None, Decimal("1E-4"))])
    patient([("qpcr", "pnq", None, None), ("ngs", "negative", None, Decimal("1E-6"))])
    patient([("qpcr", "pnq", None, None)])
    patient([("qpcr", "quantifiable", Decimal("2E-4"), None)])
    client.force_login(central_lab)
    table = {row.timepoint: row for row in client.get(reverse("mrd:cohort")).context["table"]}
    w11 = table["W11"]
    assert (w11.evaluable, w11.negative, w11.pnq, w11.quantifiable, w11.missing) == (4, 2, 1, 1, 0)
    assert (table["D40"].evaluable, table["D40"].missing) == (4, 4)
