"""Writing through the API: MRD results by accession (idempotent with a key), lab panels from a
site's laboratory system, query answers; each through the write pipeline, all or nothing."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import EvaluationMark
from api.models import ApiToken
from crf.models import Role
from monitoring.models import Query
from monitoring.queries import query_open
from mrd.models import MrdResult
from safety.models import LabPanel, LabValue
from tests.factories import (
    subject_on_infusion,
    user_with_role,
)

from .conftest import field_errors, problem

pytestmark = pytest.mark.verifies("UR-API-01", "UR-REC-01")

RESULT = {
    "method": "qpcr",
    "result": "quantifiable",
    "value": "1,2E-4",
    "sensitivity": "1E-5",
    "quantitative_range": "1E-4",
    "report_date": "2026-05-20",
}


def _post_result(api, sample, key=None, **changes):
    return api.post("/mrd-results", {"accession": sample.accession, **RESULT, **changes}, key=key)


# --- MRD results (UR-MRD-01) --------------------------------------------------------------


@pytest.mark.verifies("UR-MRD-01")
def test_the_lab_reports_a_result_by_accession(api_as, central_lab, w11_sample):
    response = _post_result(api_as(central_lab), w11_sample)
    assert response.status_code == 201
    body = response.json()
    assert body["action"] == "created"
    result = MrdResult.objects.get()
    assert (result.sample, result.value) == (w11_sample, Decimal("0.00012"))  # decimal comma
    assert body["result"]["id"] == result.pk and body["result"]["value"] == "0.000120000000000"
    history = result.history.get()
    assert (history.history_user, history.history_change_reason) == (
        central_lab,
        "reported through the API",
    )
    # The rules are evaluated for the subject after the commit (the mark is the pipeline's).
    assert EvaluationMark.objects.filter(subject=w11_sample.subject).exists()


def test_a_result_posted_twice_with_the_same_key_is_stored_once(api_as, central_lab, w11_sample):
    api = api_as(central_lab)
    first = _post_result(api, w11_sample, key="lims-4711")
    again = _post_result(api, w11_sample, key="lims-4711")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    result = MrdResult.objects.get()
    assert result.history.count() == 1 and result.version == 1


def test_a_key_reused_for_another_request_is_refused(api_as, central_lab, w11_sample):
    api = api_as(central_lab)
    assert _post_result(api, w11_sample, key="k1").status_code == 201
    reused = _post_result(api, w11_sample, key="k1", value="3E-4", reason_for_change="re-run")
    assert reused.status_code == 422
    assert "different request" in field_errors(reused)["Idempotency-Key"]
    assert MrdResult.objects.get().value == Decimal("0.00012")


def test_the_same_result_without_a_key_changes_nothing_the_second_time(
    api_as, central_lab, w11_sample
):
    api = api_as(central_lab)
    assert _post_result(api, w11_sample).status_code == 201
    again = _post_result(api, w11_sample)
    assert again.status_code == 200 and again.json()["action"] == "unchanged"
    assert MrdResult.objects.get().history.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"value": ""}, "value", "quantifiable"),
        ({"result": "negative"}, "value", ""),
        ({"value": "12,4 %"}, "value", ""),
        ({"report_date": "20.05.2026"}, "report_date", "YYYY-MM-DD"),
        ({"report_date": "2026-05-01"}, "report_date", "sampling"),
        ({"method": "flow"}, "method", "qpcr or ngs"),
        ({"result": "positive"}, "result", "pnq"),
    ],
)
@pytest.mark.verifies("UR-MRD-01")
def test_a_result_the_checks_refuse_saves_nothing(
    api_as, central_lab, w11_sample, change, field, message
):
    response = _post_result(api_as(central_lab), w11_sample, key="k", **change)
    assert response.status_code == 422, response.content
    errors = field_errors(response)
    assert field in errors, errors
    assert message.lower() in errors[field].lower()
    assert not MrdResult.objects.exists()
    # The refused request's key was not used up: the corrected request is taken.
    assert _post_result(api_as(central_lab), w11_sample, key="k").status_code == 201


@pytest.mark.verifies("UR-MRD-01")
@pytest.mark.verifies("UR-REC-04")
def test_a_correction_needs_a_reason_and_the_version_read(api_as, central_lab, w11_sample):
    api = api_as(central_lab)
    _post_result(api, w11_sample)
    no_reason = _post_result(api, w11_sample, value="2.3E-4")
    assert no_reason.status_code == 422
    assert "needs a reason" in field_errors(no_reason)["reason_for_change"]
    stale = _post_result(api, w11_sample, value="2.3E-4", reason_for_change="re-run", version=7)
    assert stale.status_code == 409
    assert problem(stale)["title"] == "Changed meanwhile"
    done = _post_result(api, w11_sample, value="2.3E-4", reason_for_change="re-run", version=1)
    assert done.status_code == 200 and done.json()["action"] == "corrected"
    result = MrdResult.objects.get()
    assert (result.value, result.version) == (Decimal("0.00023"), 2)
    assert result.history.first().history_change_reason == "re-run"


@pytest.mark.verifies("UR-MRD-01")
def test_an_unknown_or_another_site_s_accession_is_named(api_as, central_lab, w11_sample):
    response = api_as(central_lab).post("/mrd-results", {"accession": "9-99-W11", **RESULT})
    assert response.status_code == 422
    assert "9-99-W11" in field_errors(response)["accession"]


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER])
@pytest.mark.verifies("UR-ACC-02", "UR-API-02")
def test_only_the_central_lab_posts_results(api_as, site_a, w11_sample, role):
    user = user_with_role(role, None if role == Role.DATA_MANAGER else site_a, username="u")
    response = _post_result(api_as(user), w11_sample)
    assert response.status_code == 403
    assert problem(response)["detail"] == "Only the central MRD laboratory enters MRD results."
    assert not MrdResult.objects.exists()


@pytest.mark.verifies("UR-ACC-02", "UR-API-02")
def test_a_read_token_writes_nothing(api_as, central_lab, w11_sample):
    response = _post_result(api_as(central_lab, scope=ApiToken.Scope.READ), w11_sample)
    assert response.status_code == 403
    assert "only read" in problem(response)["detail"]
    assert not MrdResult.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"accession": 5},
        {"accession": "x", "method": "qpcr", "result": "negative", "report_date": None},
        {**RESULT, "accession": "1-01-W11", "value": True},
        {**RESULT, "accession": "1-01-W11", "version": 0},
    ],
)
def test_a_body_that_does_not_fit_is_a_problem_naming_the_field(
    api_as, central_lab, w11_sample, body
):
    response = api_as(central_lab).post("/mrd-results", body)
    assert response.status_code == 422
    assert problem(response)["errors"]
    assert not MrdResult.objects.exists()


def test_a_body_that_is_not_json_is_a_problem(client, central_lab, w11_sample):
    from .conftest import token_for

    response = client.post(
        "/api/v1/mrd-results",
        b"accession=1-01-W11",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for(central_lab)}"},
    )
    assert response.status_code in (400, 422)
    problem(response)


# --- Lab panels ---------------------------------------------------------------------------------


def _panel(subject, *, days=13, **extra):
    sampled = datetime.datetime.combine(
        subject.day1_date + datetime.timedelta(days=days), datetime.time(8, 30)
    )
    return {
        "subject": subject.study_id,
        "sampled_at": sampled.isoformat(),
        "local_lab": "Hospital laboratory",
        "values": [
            {"test": "alt", "value": "240,0", "uln": "40"},
            {"test": "ast", "value": 35, "uln": 40.0},
        ],
        **extra,
    }


@pytest.mark.verifies("UR-LAB-01", "UR-ALR-01", "AL-HEP", "TX-HEP")
def test_a_site_laboratory_posts_a_panel_and_hears_the_alert_it_raised(
    api_as, site_a, investigator_a
):
    subject = subject_on_infusion(site_a, by=investigator_a)
    response = api_as(investigator_a).post("/lab-panels", _panel(subject), key="lis-1")
    assert response.status_code == 201, response.content
    body = response.json()
    panel = LabPanel.objects.get(subject=subject)
    assert timezone.localtime(panel.sampled_at).time() == datetime.time(8, 30)  # local time
    alt = LabValue.objects.get(panel=panel, test="alt")
    assert (alt.value, alt.unit, alt.grade) == (Decimal("240"), "U/L", 3)
    assert [v["test"] for v in body["values"]] == ["alt", "ast"]
    assert body["panel"]["subject"] == subject.study_id
    assert [a["rule"] for a in body["alerts"]] == ["AL-HEP"]
    assert "interrupt" in body["alerts"][0]["message"].lower()
    again = api_as(investigator_a).post("/lab-panels", _panel(subject), key="lis-1")
    assert again.status_code == 201  # another token of the same account: the same answer
    assert LabPanel.objects.filter(subject=subject).count() == 1


@pytest.mark.verifies("UR-LAB-01", "UR-REC-02")
def test_a_panel_with_a_zone_is_stored_at_that_instant(api_as, site_a, investigator_a, subject_a):
    body = _panel(subject_a, days=3, sampled_at="2026-03-05T07:30:00+00:00")
    response = api_as(investigator_a).post("/lab-panels", body)
    assert response.status_code == 201, response.content
    assert LabPanel.objects.get().sampled_at == datetime.datetime(
        2026, 3, 5, 7, 30, tzinfo=datetime.UTC
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ([{"test": "alt", "value": "12,4,1"}], "values.0.value"),
        ([{"test": "alt", "value": "-3"}], "values.0.value"),
        ([{"test": "alt", "value": "30", "unit": "furlongs"}], "values.0.unit"),
        ([{"test": "xyz", "value": "30"}], "values.0.test"),
        ([{"test": "alt", "value": "30"}, {"test": "alt", "value": "31"}], "values.1.test"),
    ],
)
@pytest.mark.verifies("UR-LAB-01", "UR-REC-02")
def test_a_panel_with_a_bad_value_saves_nothing(api_as, investigator_a, subject_a, values, field):
    response = api_as(investigator_a).post("/lab-panels", _panel(subject_a, days=3, values=values))
    assert response.status_code == 422, response.content
    assert field in field_errors(response)
    assert not LabPanel.objects.exists() and not LabValue.objects.exists()


def test_a_panel_before_consent_is_refused_as_on_the_page(api_as, investigator_a, subject_a):
    response = api_as(investigator_a).post("/lab-panels", _panel(subject_a, days=-10))
    assert response.status_code == 422
    assert "informed consent" in response.content.decode()
    assert not LabPanel.objects.exists()


@pytest.mark.verifies("UR-ACC-01", "UR-ACC-02")
def test_another_site_s_subject_is_404_and_the_lab_may_not_post_panels(
    api_as, investigator_a, subject_b, central_lab
):
    response = api_as(investigator_a).post("/lab-panels", _panel(subject_b, days=3))
    assert response.status_code == 404
    assert problem(response)["title"] == "Not found"
    refused = api_as(central_lab).post("/lab-panels", _panel(subject_b, days=3))
    assert refused.status_code == 403
    assert not LabPanel.objects.exists()


# --- Query answers ------------------------------------------------------------------------------


@pytest.fixture
def open_query(subject_a, investigator_a):
    from tests.factories import lab_panel_for

    value = lab_panel_for(subject_a, by=investigator_a).values.get()
    monitor = user_with_role(Role.MONITOR, subject_a.site, username="mon")
    return query_open(record=value, field_name="value", text="Please confirm ALT.", user=monitor)


@pytest.mark.verifies("UR-MON-02")
def test_the_site_answers_a_query(api_as, investigator_a, open_query):
    response = api_as(investigator_a).post(
        f"/queries/{open_query.pk}/answer", {"answer": "Confirmed in source."}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "answered"
    open_query.refresh_from_db()
    assert (open_query.status, open_query.answer, open_query.answered_by) == (
        Query.Status.ANSWERED,
        "Confirmed in source.",
        investigator_a,
    )
    again = api_as(investigator_a).post(f"/queries/{open_query.pk}/answer", {"answer": "Again"})
    assert again.status_code == 422 and "answered" in problem(again)["detail"] + str(
        problem(again)["errors"]
    )


@pytest.mark.verifies("UR-MON-02")
def test_an_empty_answer_and_another_site_s_query_are_refused(
    api_as, investigator_a, investigator_b, open_query
):
    empty = api_as(investigator_a).post(f"/queries/{open_query.pk}/answer", {"answer": "  "})
    assert empty.status_code == 422 and "answer" in field_errors(empty)
    other = api_as(investigator_b).post(f"/queries/{open_query.pk}/answer", {"answer": "x"})
    assert other.status_code == 404
    open_query.refresh_from_db()
    assert open_query.status == Query.Status.OPEN


def test_kept_answers_are_forgotten_after_seven_days(api_as, central_lab, w11_sample):
    from api.models import IdempotentResponse
    from api.tasks import forget_old_idempotent_responses

    api = api_as(central_lab)
    _post_result(api, w11_sample, key="old")
    IdempotentResponse.objects.update(created_at=timezone.now() - datetime.timedelta(days=8))
    _post_result(api, w11_sample, key="new")
    forget_old_idempotent_responses.apply()
    assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.verifies("UR-LAB-01")
def test_a_value_the_grading_cannot_use_is_named_by_its_place_in_the_panel(
    api_as, investigator_a, subject_a
):
    values = [{"test": "alt", "value": "30", "uln": "40"}, {"test": "ast", "value": "35"}]
    response = api_as(investigator_a).post("/lab-panels", _panel(subject_a, days=3, values=values))
    assert response.status_code == 422
    errors = field_errors(response)
    assert "ULN" in errors["values.1.uln"], errors
    assert not LabPanel.objects.exists()
