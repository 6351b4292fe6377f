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

pytestmark = pytest.mark.verifies("UR-API-01", "UR-API-02")
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


def _writes(tokens, result=None, panel=None, answer=None) -> list:
    """The three writes with valid bodies naming the study's sample, subject and query, each
    body updated with the given fields."""
    return [
        _post("/mrd-results", {"accession": tokens["accession"], "method": "ngs",
              "result": "negative", "sensitivity": "1E-5", "report_date": "2026-05-20",
              **(result or {})}),
        _post("/lab-panels", {"subject": tokens["subject"], "sampled_at": "2026-03-20T08:00:00Z",
              "local_lab": "Hospital laboratory", "values": [{"test": "alt", "value": "45",
              "uln": "40"}], **(panel or {})}),
        _post("/queries/{query_id}/answer", {"answer": "Hospital laboratory", **(answer or {})},
              path_parameters={"query_id": tokens["query"]}),
    ]  # fmt: skip


@pytest.mark.django_db
def test_writes_that_succeed_conform_to_the_schema(tokens):
    """Generated bodies rarely name a real sample, subject or query: one valid request each."""
    statuses = [_call_and_validate(case, tokens).status_code for case in _writes(tokens)]
    assert statuses == [201, 201, 200]


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


def _edge_cases(tokens) -> dict:
    """Requests the generated ones may miss: text with NUL (which PostgreSQL can neither store
    nor compare) and times whose offset takes them outside years 1 to 9999."""
    subjects = schema["/api/v1/subjects"]["GET"]
    year_1 = "0001-01-01T00:00:00+05:00"
    return {
        "subject filter": subjects.Case(query={"subject": "1-\x00"}),
        "updated_since": subjects.Case(query={"updated_since": year_1}),
        "accession": _writes(tokens, result={"accession": "1-01-W11\x00"})[0],
        "comment": _writes(tokens, result={"comment": "\x00"})[0],
        "panel subject": _writes(tokens, panel={"subject": "1-\x00"})[1],
        "sampled_at": _writes(tokens, panel={"sampled_at": year_1})[1],
        "answer": _writes(tokens, answer={"answer": "a\x00"})[2],
        "idempotency key": _post(
            "/queries/{query_id}/answer",
            {"answer": "Hospital laboratory"},
            path_parameters={"query_id": tokens["query"]},
            headers={"Idempotency-Key": "k\x00"},
        ),
    }


WRITE_EDGE_CASES = ("accession", "comment", "panel subject", "sampled_at", "answer",
                    "idempotency key")  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["subject filter", "updated_since", *WRITE_EDGE_CASES],
)
def test_values_the_database_cannot_hold_are_refused(tokens, name):
    response = _call_and_validate(_edge_cases(tokens)[name], tokens)
    assert response.status_code == 422
