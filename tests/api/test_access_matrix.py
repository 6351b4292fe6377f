"""The pages' access matrix (tests/crf/test_access.py) repeated for the API, with tokens of every
role: every read resource is scoped to the token's sites, and each write is allowed only to the
role that makes it on the pages, at its own site. Every refusal is a problem."""

import pytest

from api.models import ApiToken
from api.reads import resource_name
from api.v1 import api as data_api
from crf.models import Membership, Role
from exports.domains import domains
from monitoring.models import Query
from mrd.models import MrdResult
from safety.models import LabPanel
from tests.factories import user_with_role

from .conftest import ApiClient, token_for

pytestmark = pytest.mark.verifies("UR-ACC-01", "UR-ACC-02", "UR-API-01", "UR-API-02")
PROBLEM = "application/problem+json"
DOMAINS = {resource_name(domain): domain for domain in domains()}
RESOURCES = sorted(DOMAINS)
STUDY_WIDE_ROLES = [Role.CENTRAL_LAB, Role.DATA_MANAGER, Role.SPONSOR]
# Files the study fills at both sites: their records by id are checked at both.
FILLED = {
    "sites", "screenings", "subjects", "baseline", "visits", "treatment-courses",
    "drug-administrations", "day11-assessments", "infusions", "infusion-dose-changes",
    "lab-panels", "lab-values", "adverse-events", "mrd-samples", "mrd-results", "alerts",
    "queries",
}  # fmt: skip


def _ids(resource: str, site) -> set[int]:
    """The ids of the records of `resource` at `site`, or of every site (None)."""
    domain = DOMAINS[resource]
    records = domain.model._default_manager.all()
    if site is not None and domain.site_path is not None:
        records = records.filter(**{domain.site_path: site.pk})
    return set(records.values_list("pk", flat=True))


def _listed(api: ApiClient, resource: str) -> set[int]:
    response = api.get(f"/{resource}", limit=1000)
    assert response.status_code == 200, response.content
    page = response.json()
    assert page["next_cursor"] is None
    return {record["id"] for record in page["results"]}


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"] == f"urn:blinacell:problem:{slug}"
    assert problem["title"] and problem["detail"]
    return problem


@pytest.fixture
def study(api_study, db, settings):
    settings.API_REQUESTS_PER_MINUTE = 1_000_000
    return api_study


@pytest.fixture
def api_of(client):
    """api_of(role, at, **token options) -> an ApiClient with a token of a new user who has
    `role` at site `at` (every site: None)."""

    def make(role, at, **options) -> ApiClient:
        return ApiClient(client, token_for(user_with_role(role, at), **options))

    return make


def test_the_matrix_covers_every_read_endpoint():
    paths = data_api.get_openapi_schema()["paths"]
    served = {path.removeprefix("/api/v1/") for path, ops in paths.items() if "get" in ops}
    assert served - {f"{r}/{{record_id}}" for r in RESOURCES} == set(RESOURCES)
    assert len(RESOURCES) >= 35
    assert FILLED <= set(RESOURCES)


# --- Reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("resource", RESOURCES)
def test_a_site_user_reads_only_their_site(study, api_of, role, resource):
    site_a, site_b = study.sites
    api = api_of(role, site_a)
    assert _listed(api, resource) == _ids(resource, site_a)
    other_site = _ids(resource, site_b) - _ids(resource, site_a)
    assert bool(other_site) == (resource in FILLED)
    for record_id in other_site:
        assert_problem(api.get(f"/{resource}/{record_id}"), 404, "not-found")
    for record_id in _ids(resource, site_a):
        assert api.get(f"/{resource}/{record_id}").json()["id"] == record_id


@pytest.mark.parametrize("role", STUDY_WIDE_ROLES)
@pytest.mark.parametrize("resource", RESOURCES)
def test_a_study_wide_user_reads_every_site(study, api_of, role, resource):
    api = api_of(role, None)
    assert _listed(api, resource) == _ids(resource, None)
    for record_id in _ids(resource, study.sites[1]):
        assert api.get(f"/{resource}/{record_id}").json()["id"] == record_id


@pytest.mark.parametrize("role", STUDY_WIDE_ROLES)
@pytest.mark.parametrize("resource", RESOURCES)
def test_a_site_token_of_a_study_wide_user_reads_its_site_only(study, api_of, role, resource):
    site_a, site_b = study.sites
    api = api_of(role, None, site=site_b)
    assert _listed(api, resource) == _ids(resource, site_b)
    for record_id in _ids(resource, site_a) - _ids(resource, site_b):
        assert_problem(api.get(f"/{resource}/{record_id}"), 404, "not-found")


def test_a_user_whose_role_was_withdrawn_reads_nothing(study, client):
    user = user_with_role(Role.DATA_MANAGER, None)
    api = ApiClient(client, token_for(user))
    Membership.objects.filter(user=user).delete()
    for resource in RESOURCES:
        problem = assert_problem(api.get(f"/{resource}"), 403, "forbidden")
        assert problem["detail"] == "Your role gives you no study data to read."
        assert_problem(api.get(f"/{resource}/1"), 403, "forbidden")


# --- Writes ------------------------------------------------------------------------------------

# Writers of site A's records: (role, where they hold it: site "A", site "B" or None for every
# site), each with a new token of the scope read_write.
ROLE_SITES = [(role, "A") for role in Role] + [(role, None) for role in STUDY_WIDE_ROLES]
ROLE_SITES += [(Role.INVESTIGATOR, "B"), (Role.CENTRAL_LAB, "B")]


def _site(study, name):
    return {"A": study.sites[0], "B": study.sites[1], None: None}[name]


def _mrd_result(study) -> dict:
    return {"accession": study.samples[0].accession, "method": "ngs", "result": "negative",
            "sensitivity": "1E-6", "report_date": "2026-05-20"}  # fmt: skip


def _lab_panel(study) -> dict:
    alt = {"test": "alt", "value": "45", "uln": "40"}
    return {"subject": study.subjects[0].study_id, "sampled_at": "2026-03-20T08:00:00Z",
            "local_lab": "LIMS", "values": [alt]}  # fmt: skip


def _refusal(role, site, *, allowed: Role) -> int | None:
    """None for the allowed role at site A or every site; 404 where the role does not see site
    A's subjects (at another site; the sponsor sees no subject), as on the pages; else 403."""
    if site == "B" or role == Role.SPONSOR:
        return 404
    return None if role == allowed else 403


@pytest.mark.parametrize(("role", "site"), ROLE_SITES)
def test_only_the_central_lab_posts_mrd_results(study, api_of, role, site):
    api = api_of(role, _site(study, site))
    response = api.post("/mrd-results", _mrd_result(study))
    if role == Role.CENTRAL_LAB and site != "B":
        assert response.status_code == 201, response.content
        assert response.json()["action"] == "created"
        assert MrdResult.objects.filter(sample=study.samples[0], method="ngs").exists()
        return
    assert not MrdResult.objects.filter(method="ngs").exists()
    if role == Role.CENTRAL_LAB:  # at site B: site A's sample is not on its worklist
        problem = assert_problem(response, 422, "refused")
        assert problem["errors"] == [
            {"field": "accession", "message": "No sample '1-01-W11' awaits results here."}
        ]
        return
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize(("role", "site"), ROLE_SITES)
def test_only_investigators_of_the_subjects_site_post_lab_panels(study, api_of, role, site):
    api = api_of(role, _site(study, site))
    before = LabPanel.objects.count()
    response = api.post("/lab-panels", _lab_panel(study))
    refusal = _refusal(role, site, allowed=Role.INVESTIGATOR)
    if refusal is None:
        assert response.status_code == 201, response.content
        assert response.json()["panel"]["local_lab"] == "LIMS"
        assert LabPanel.objects.count() == before + 1
        return
    assert_problem(response, refusal, "forbidden" if refusal == 403 else "not-found")
    assert LabPanel.objects.count() == before


@pytest.mark.parametrize(("role", "site"), ROLE_SITES)
def test_only_investigators_of_the_subjects_site_answer_queries(study, api_of, role, site):
    api = api_of(role, _site(study, site))
    query = study.queries[0]
    response = api.post(f"/queries/{query.pk}/answer", {"answer": "Hospital laboratory"})
    refusal = _refusal(role, site, allowed=Role.INVESTIGATOR)
    stored = Query.objects.get(pk=query.pk)
    if refusal is None:
        assert response.status_code == 200, response.content
        assert response.json()["answer"] == "Hospital laboratory"
        assert stored.status == Query.Status.ANSWERED
        return
    assert_problem(response, refusal, "forbidden" if refusal == 403 else "not-found")
    assert (stored.status, stored.answer) == (Query.Status.OPEN, "")


@pytest.mark.parametrize(
    ("role", "site"),
    [(Role.CENTRAL_LAB, None), (Role.INVESTIGATOR, "A"), (Role.DATA_MANAGER, None)],
)
def test_a_read_token_writes_nothing(study, api_of, role, site):
    api = api_of(role, _site(study, site), scope=ApiToken.Scope.READ)
    query = study.queries[0]
    panels = LabPanel.objects.count()
    for path, body in (
        ("/mrd-results", _mrd_result(study)),
        ("/lab-panels", _lab_panel(study)),
        (f"/queries/{query.pk}/answer", {"answer": "Hospital laboratory"}),
    ):
        problem = assert_problem(api.post(path, body), 403, "forbidden")
        assert "only read" in problem["detail"]
    assert not MrdResult.objects.filter(method="ngs").exists()
    assert LabPanel.objects.count() == panels
    assert Query.objects.get(pk=query.pk).status == Query.Status.OPEN
