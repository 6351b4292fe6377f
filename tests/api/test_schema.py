"""The API against its own OpenAPI schema: schemathesis generates requests for every operation
(valid and invalid ones) and sends them through Django's WSGI application, in the test
database, with a study behind them. No request may fail on the server, and every answer must
be documented: its status, its content type and its body's schema."""

import datetime

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.v1 import api
from crf.models import Role
from monitoring.queries import query_open
from mrd.services import sample_record
from tests.api.conftest import token_for
from tests.factories import (
    SiteFactory,
    baseline_for,
    course_for,
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded and repeatable: the same requests on every run, a few per operation, no shrinking.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260302,
        "generation": {
            "mode": "all",
            "max-examples": 15,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
            # The test sends a real token: generated Authorization headers would only meet 401s.
            "with-security-parameters": False,
        },
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
APP = WSGIHandler()
# The schema /api/v1/openapi.json serves (test_the_served_schema_is_the_tested_one).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def study(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back after it (each test's own
    changes roll back after the test): two sites, each with a treated subject, a lab panel and
    a serious adverse event; at site A an MRD sample and an open query. Returns the tokens."""
    with django_db_blocker.unblock(), transaction.atomic():
        sites = [SiteFactory(number=1, city="Prague"), SiteFactory(number=2, city="Brno")]
        investigators = [user_with_role(Role.INVESTIGATOR, site) for site in sites]
        subjects = [enrol(s, by=i) for s, i in zip(sites, investigators, strict=True)]
        for subject, investigator in zip(subjects, investigators, strict=True):
            baseline_for(subject, by=investigator)
            course_for(subject, by=investigator)
            day11_for(subject, by=investigator)
            infusion_started_for(subject, by=investigator)
            lab_panel_for(subject, by=investigator)
            serious_ae_for(subject, by=investigator)
        sample = sample_record(
            subject=subjects[0],
            timepoint="W11",
            material="bone_marrow",
            sampled_on=datetime.date(2026, 5, 12),
            user=investigators[0],
        )
        query = query_open(
            record=subjects[0].lab_panels.get(),
            field_name="local_lab",
            text="Which laboratory?",
            user=user_with_role(Role.MONITOR, sites[0]),
        )
        yield {
            "read": token_for(user_with_role(Role.DATA_MANAGER, None)),
            "mrd": token_for(user_with_role(Role.CENTRAL_LAB, None)),
            "site": token_for(investigators[0]),
            "accession": sample.accession,
            "subject": subjects[0].study_id,
            "query": query.pk,
        }
        transaction.set_rollback(True)


@pytest.fixture
def tokens(study, db, settings):
    """The study's tokens, for requests through the WSGI application as the test client sends
    them: the test's connection (and its transaction) stays open between requests."""
    settings.API_REQUESTS_PER_MINUTE = 1_000_000
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield study
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _token(case, tokens) -> str:
    """A token whose user may do the operation: the central laboratory posts MRD results, an
    investigator lab panels and answers, a study-wide data manager reads."""
    if case.method == "POST":
        return tokens["mrd"] if case.path.endswith("/mrd-results") else tokens["site"]
    return tokens["read"]


def _call_and_validate(case, tokens):
    headers = {"Authorization": f"Bearer {_token(case, tokens)}"}
    return case.call_and_validate(app=APP, headers=headers, checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
# The study and the token stay the same for every example of an operation: meant so.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_conforms_to_the_schema(case, tokens):
    _call_and_validate(case, tokens)


def _post(path: str, body: dict, **parameters):
    return schema[f"/api/v1{path}"]["POST"].Case(body=body, **parameters)


@pytest.mark.django_db
def test_writes_that_succeed_conform_to_the_schema(tokens):
    """Generated bodies rarely name a real sample, subject or query: one valid request each."""
    result = {"accession": tokens["accession"], "method": "qpcr", "result": "negative",
              "sensitivity": "1E-5", "report_date": "2026-05-20"}  # fmt: skip
    assert _call_and_validate(_post("/mrd-results", result), tokens).status_code == 201
    alt = {"test": "alt", "value": "45", "uln": "40"}
    panel = {"subject": tokens["subject"], "sampled_at": "2026-03-20T08:00:00Z",
             "local_lab": "Hospital laboratory", "values": [alt]}  # fmt: skip
    assert _call_and_validate(_post("/lab-panels", panel), tokens).status_code == 201
    answer = _post(
        "/queries/{query_id}/answer",
        {"answer": "Hospital laboratory"},
        path_parameters={"query_id": tokens["query"]},
    )
    assert _call_and_validate(answer, tokens).status_code == 200


@pytest.mark.django_db
def test_every_record_by_id_conforms_to_the_schema(tokens):
    """Generated ids rarely exist: the first record of every resource that has one."""
    read = 0
    for path in schema.raw_schema["paths"]:
        if not path.endswith("/{record_id}"):
            continue
        listed = schema[path.removesuffix("/{record_id}")]["GET"].Case(query={"limit": 1})
        records = _call_and_validate(listed, tokens).json()["results"]
        if records:
            one = schema[path]["GET"].Case(path_parameters={"record_id": records[0]["id"]})
            assert _call_and_validate(one, tokens).json() == records[0]
            read += 1
    assert read >= 10


@pytest.mark.django_db
def test_the_served_schema_is_the_tested_one(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == schema.raw_schema
