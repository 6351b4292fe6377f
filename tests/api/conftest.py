import json

import pytest

from api.models import ApiToken
from api.tokens import token_create


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


@pytest.fixture
def central_lab(db):
    from crf.models import Role
    from tests.factories import user_with_role

    return user_with_role(Role.CENTRAL_LAB, None, username="lab")


@pytest.fixture
def w11_sample(subject_a, investigator_a):
    import datetime

    from mrd.services import sample_record

    return sample_record(
        subject=subject_a,
        timepoint="W11",
        material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12),
        user=investigator_a,
    )


def problem(response) -> dict:
    """The RFC 9457 problem of an error response (its content type checked)."""
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("urn:blinacell:problem:")
    return body


def field_errors(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem(response)["errors"]}
