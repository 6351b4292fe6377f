import datetime
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction

from api.models import ApiToken
from api.tokens import token_create
from crf.models import Role, Site, Subject
from monitoring.queries import query_open
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from safety.services import lab_panel_alerts
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


def token_for(user, *, scope=ApiToken.Scope.READ_WRITE, site=None, days=30) -> str:
    """A new personal token of `user` (the whole secret)."""
    return token_create(user=user, name="test", scope=scope, days=days, site=site).secret


class ApiClient:
    """The Django test client speaking to /api/v1/ with a bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, extra=None):
        headers = dict(extra or {})
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, body, *, key: str | None = None):
        headers = self._headers({"Idempotency-Key": key} if key is not None else None)
        return self.client.post(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
        )


@pytest.fixture
def api_as(client):
    """api_as(user, scope=..., site=...) -> an ApiClient with a new token of that user."""

    def make(user, **token_options) -> ApiClient:
        return ApiClient(client, token_for(user, **token_options))

    return make


def problem(response) -> dict:
    """The RFC 9457 problem of an error response (its content type checked)."""
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("urn:blinacell:problem:")
    return body


def field_errors(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem(response)["errors"]}


@dataclass
class ApiStudy:
    """Two sites (A, B), each with one subject whose records fill most export files."""

    sites: list[Site]
    investigators: list  # the investigator of each site
    subjects: list[Subject]
    samples: list  # each subject's W11 MRD sample, with its qPCR result
    queries: list  # an open query on each subject's lab panel


def _api_study() -> ApiStudy:
    sites = [SiteFactory(number=1, city="Prague"), SiteFactory(number=2, city="Brno")]
    investigators = [user_with_role(Role.INVESTIGATOR, site) for site in sites]
    lab = user_with_role(Role.CENTRAL_LAB, None)
    subjects, samples, queries = [], [], []
    for site, investigator in zip(sites, investigators, strict=True):
        subject = enrol(site, by=investigator)
        baseline_for(subject, by=investigator)
        course_for(subject, by=investigator)
        day11_for(subject, by=investigator)
        infusion_started_for(subject, by=investigator)
        panel = lab_panel_for(subject, by=investigator)
        lab_panel_alerts(panel, user=investigator, evaluate=True)
        serious_ae_for(subject, by=investigator)
        sample = sample_record(
            subject=subject, timepoint="W11", material="bone_marrow",
            sampled_on=datetime.date(2026, 5, 12), user=investigator,
        )  # fmt: skip
        monitor = user_with_role(Role.MONITOR, site)
        query = query_open(record=panel, field_name="local_lab", text="Which lab?", user=monitor)
        subjects.append(subject)
        samples.append(sample)
        queries.append(query)
    for sample in samples:
        result = MrdResult(
            sample=sample, method="qpcr", result_class="negative",
            sensitivity=Decimal("1E-5"), report_date=datetime.date(2026, 5, 19),
        )  # fmt: skip
        result_save(result, user=lab, reason="reported")
    return ApiStudy(sites, investigators, subjects, samples, queries)


@pytest.fixture(scope="module")
def api_study(django_db_setup, django_db_blocker) -> ApiStudy:
    """The study, built once for a test module in a transaction rolled back after the module
    (each test's own changes roll back after the test, as usual). Tests using it need `db`."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _api_study()
        transaction.set_rollback(True)
