"""The data API, version 1: /api/v1/ (OpenAPI schema at /api/v1/openapi.json, documentation
at /api/v1/docs). docs/api.md says how to use it."""

from django.db import transaction
from ninja import NinjaAPI
from ninja.security import HttpBearer

from .problems import problems_document, problems_register
from .reads import reads_router
from .tokens import token_authenticate

DESCRIPTION = """The study data of BlinaCell eCRF with the field names and codes of the CSV export
and its data dictionary. Authenticate with a personal API token (Authorization: Bearer <token>),
created on the account's API tokens page. Lists are paged by cursor; every error is an RFC 9457
problem (application/problem+json)."""


class PersonalToken(HttpBearer):
    """A personal API token, sent as `Authorization: Bearer bcl_…`."""

    def authenticate(self, request, token):
        return token_authenticate(request, token)


class DataApi(NinjaAPI):
    """The API, its OpenAPI schema saying how its problems are sent."""

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        problems_document(schema)
        return schema


def _api() -> NinjaAPI:
    from .writes import writes_register

    api = DataApi(
        title="BlinaCell eCRF data API",
        version="1",
        description=DESCRIPTION,
        auth=PersonalToken(),
        urls_namespace="api-v1",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    problems_register(api)
    router, resources = reads_router()
    writes_register(router, resources)
    api.add_router("/", router)
    return api


api = _api()


def urlpatterns():
    """The API's URLs, outside the request-wide transaction: a token's use and its rate count
    are kept even when the request is refused, and each write makes its own transaction."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        transaction.non_atomic_requests(pattern.callback)
    return patterns, app_name, namespace
