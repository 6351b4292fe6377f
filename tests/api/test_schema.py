"""The API against its own OpenAPI schema: schemathesis generates requests for every operation
(valid and invalid ones) and sends them through Django's WSGI application, in the test
database, with a study behind them. No request may fail on the server, and every answer must
be documented: its status, its content type and its body's schema."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
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
from tests.api.conftest import token_for
from tests.factories import user_with_role

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


@pytest.fixture
def tokens(api_study, db, settings):
    """Tokens for the study's requests, sent through the WSGI application as the test client
    sends them: the test's connection (and its transaction) stays open between requests."""
    settings.API_REQUESTS_PER_MINUTE = 1_000_000
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield {
        "read": token_for(user_with_role(Role.DATA_MANAGER, None)),
        "mrd": token_for(user_with_role(Role.CENTRAL_LAB, None)),
        "site": token_for(api_study.investigators[0]),
        "accession": api_study.samples[0].accession,
        "subject": api_study.subjects[0].study_id,
        "query": api_study.queries[0].pk,
    }
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
    result = {"accession": tokens["accession"], "method": "ngs", "result": "negative",
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
