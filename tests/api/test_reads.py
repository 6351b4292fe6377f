"""Reading the study through the API: the export's field names, pages by cursor, changes since
a time, site scoping, and the token refusals."""

import csv
import datetime
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import AccountEvent
from api.models import ApiToken
from api.tokens import token_create, token_revoke
from crf.models import Membership, Role
from exports.csv_export import study_csv_write
from exports.domains import domains
from tests.factories import SiteFactory, enrol, lab_panel_for, user_with_role

from .conftest import ApiClient, problem

DOMAINS = {d.file: d for d in domains()}

pytestmark = pytest.mark.verifies("UR-API-01", "UR-ACC-01")


def test_a_subject_reads_with_the_export_s_columns_codes_and_values(
    api_as, investigator_a, subject_a
):
    body = api_as(investigator_a).get("/subjects").json()
    assert body["next_cursor"] is None
    (row,) = body["results"]
    assert list(row) == [*DOMAINS["subjects.csv"].header, "version", "updated_at"]
    assert row["study_id"] == subject_a.study_id
    assert row["site"] == 1  # the site's number, as in the CSV
    assert row["status"] == "enrolled"  # the code, not its label
    assert row["day1_date"] == "2026-03-02"
    assert row["enrolled_by"] == "inv.a"


def test_lab_values_keep_their_digits_and_times_are_utc(api_as, investigator_a, subject_a):
    lab_panel_for(subject_a, by=investigator_a, alt="250.5", uln="40")
    api = api_as(investigator_a)
    (value,) = api.get("/lab-values").json()["results"]
    assert value["value"] == "250.5000"  # a decimal as stored, as text: no rounding
    assert value["test"] == "alt"
    assert value["grade"] == 3
    (panel,) = api.get("/lab-panels").json()["results"]
    sampled = datetime.datetime.fromisoformat(panel["sampled_at"].replace("Z", "+00:00"))
    assert sampled.utcoffset() == datetime.timedelta(0)
    assert sampled == subject_a.lab_panels.get().sampled_at


def test_pages_by_cursor_give_every_record_once(api_as, site_a, investigator_a):
    subjects = [enrol(site_a, by=investigator_a) for _ in range(7)]
    api = api_as(investigator_a)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/subjects", **params).json()
        seen += [row["study_id"] for row in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [s.study_id for s in subjects]


def test_updated_since_gives_what_changed_after_a_time(api_as, site_a, investigator_a):
    first = enrol(site_a, by=investigator_a)
    api = api_as(investigator_a)
    since = timezone.now()
    second = enrol(site_a, by=investigator_a)
    rows = api.get("/subjects", updated_since=since.isoformat()).json()["results"]
    assert [r["study_id"] for r in rows] == [second.study_id]
    assert first.study_id not in {r["study_id"] for r in rows}
    naive = api.get("/subjects", updated_since="2026-03-01T00:00:00")
    assert naive.status_code == 422
    assert "updated_since" in {e["field"] for e in problem(naive)["errors"]}


def test_subject_filter_reads_one_subject_s_records(api_as, site_a, investigator_a, subject_a):
    other = enrol(site_a, by=investigator_a)
    lab_panel_for(subject_a, by=investigator_a)
    lab_panel_for(other, by=investigator_a, alt="45")
    api = api_as(investigator_a)
    rows = api.get("/lab-values", subject=other.study_id).json()["results"]
    assert [r["value"] for r in rows] == ["45.0000"]
    refused = api.get("/sites", subject=other.study_id)
    assert refused.status_code == 422


def test_another_site_s_records_are_not_listed_and_404_by_id(
    api_as, investigator_a, subject_a, investigator_b, subject_b
):
    panel_b = lab_panel_for(subject_b, by=investigator_b)
    api = api_as(investigator_a)
    assert [r["study_id"] for r in api.get("/subjects").json()["results"]] == ["1-01"]
    assert api.get("/lab-panels").json()["results"] == []
    for path in (f"/subjects/{subject_b.pk}", f"/lab-panels/{panel_b.pk}"):
        response = api.get(path)
        assert response.status_code == 404
        assert problem(response)["title"] == "Not found"
    assert api.get(f"/subjects/{subject_a.pk}").json()["study_id"] == "1-01"


@pytest.mark.verifies("UR-API-02")
def test_a_token_narrowed_to_a_site_reads_only_that_site(api_as, site_a, subject_a, subject_b):
    manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
    every = api_as(manager).get("/subjects").json()["results"]
    assert {r["study_id"] for r in every} == {"1-01", "2-01"}
    narrowed = api_as(manager, site=site_a).get("/subjects").json()["results"]
    assert [r["study_id"] for r in narrowed] == ["1-01"]


@pytest.mark.verifies("UR-ACC-01")
def test_a_user_at_two_sites_reads_both_and_no_third(api_as, site_a, site_b, subject_a, subject_b):
    site_c = SiteFactory(number=3, city="Olomouc")
    enrol(site_c)
    both = user_with_role(Role.INVESTIGATOR, site_a, username="both")
    from crf.services.enrolment import membership_grant

    membership_grant(user=both, role=Role.INVESTIGATOR, site=site_b, granted_by=None)
    rows = api_as(both).get("/subjects").json()["results"]
    assert [r["study_id"] for r in rows] == ["1-01", "2-01"]


def test_the_sponsor_reads_what_it_exports(api_as, subject_a, subject_b):
    sponsor = user_with_role(Role.SPONSOR, None, username="sponsor")
    rows = api_as(sponsor).get("/subjects").json()["results"]
    assert {r["study_id"] for r in rows} == {"1-01", "2-01"}


@pytest.mark.verifies("UR-API-02")
def test_an_account_without_a_role_gets_no_token_and_a_lost_role_reads_nothing(
    api_as, investigator_a, subject_a
):
    from tests.factories import UserFactory

    with pytest.raises(PermissionDenied, match="study role"):
        token_create(user=UserFactory(username="nobody"), name="x", scope="read", days=7)
    api = api_as(investigator_a)
    Membership.objects.filter(user=investigator_a).delete()
    response = api.get("/subjects")
    assert response.status_code == 403
    assert problem(response)["detail"] == "Your role gives you no study data to read."


@pytest.mark.parametrize("cursor", ["nonsense", "aWQ6LTE", "!!", "a" * 300])
def test_a_malformed_cursor_is_a_problem_naming_the_cursor(api_as, investigator_a, cursor):
    response = api_as(investigator_a).get("/subjects", cursor=cursor)
    assert response.status_code == 422
    assert "cursor" in {e["field"] for e in problem(response)["errors"]}


@pytest.mark.parametrize("limit", [0, 1001, "ten"])
def test_a_limit_out_of_range_is_a_problem(api_as, investigator_a, limit):
    response = api_as(investigator_a).get("/subjects", limit=limit)
    assert response.status_code == 422
    assert "limit" in {e["field"] for e in problem(response)["errors"]}


# --- Tokens refused (UR-API-02) -----------------------------------------------------------


def _events(kind) -> list[AccountEvent]:
    return list(AccountEvent.objects.filter(kind=kind).order_by("id"))


@pytest.mark.verifies("UR-API-02")
def test_no_token_or_another_scheme_is_refused(client, subject_a):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/api/v1/subjects", headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert problem(response)["title"] == "A token is needed"


@pytest.mark.verifies("UR-API-02")
def test_an_unknown_token_is_refused_and_recorded(client, subject_a):
    response = ApiClient(client, "bcl_0000_notatoken").get("/subjects")
    assert response.status_code == 401
    assert problem(response)["detail"] == "Unknown token."
    (event,) = _events(AccountEvent.Kind.TOKEN_REFUSED)
    assert "Unknown token" in event.detail


@pytest.mark.verifies("UR-API-02")
def test_a_revoked_token_is_refused_from_the_next_request(client, investigator_a, subject_a):
    created = token_create(user=investigator_a, name="LIMS", scope="read", days=30)
    api = ApiClient(client, created.secret)
    assert api.get("/subjects").status_code == 200
    token_revoke(token=created.token, user=investigator_a)
    response = api.get("/subjects")
    assert response.status_code == 401
    assert problem(response)["detail"] == "This token was revoked."
    (refused,) = _events(AccountEvent.Kind.TOKEN_REFUSED)
    assert refused.user == investigator_a and "LIMS" in refused.detail


@pytest.mark.verifies("UR-API-02")
def test_an_expired_token_is_refused(client, investigator_a, subject_a):
    created = token_create(user=investigator_a, name="old", scope="read", days=7)
    ApiToken.objects.filter(pk=created.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = ApiClient(client, created.secret).get("/subjects")
    assert response.status_code == 401
    assert "expired" in problem(response)["detail"]


@pytest.mark.verifies("UR-API-02")
def test_a_deactivated_account_s_token_is_refused(client, investigator_a, subject_a):
    created = token_create(user=investigator_a, name="x", scope="read", days=7)
    investigator_a.is_active = False
    investigator_a.save()
    assert ApiClient(client, created.secret).get("/subjects").status_code == 401


@pytest.mark.verifies("UR-API-02")
def test_the_first_use_of_a_day_is_an_account_event_not_every_use(
    client, investigator_a, subject_a
):
    created = token_create(user=investigator_a, name="R pull", scope="read", days=7)
    api = ApiClient(client, created.secret)
    for _ in range(3):
        assert api.get("/subjects").status_code == 200
    (used,) = _events(AccountEvent.Kind.TOKEN_USED)
    assert used.user == investigator_a and "R pull" in used.detail
    ApiToken.objects.filter(pk=created.token.pk).update(
        last_used_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    api.get("/subjects")
    assert len(_events(AccountEvent.Kind.TOKEN_USED)) == 2


@pytest.mark.verifies("UR-API-02")
def test_requests_past_the_rate_limit_wait(client, settings, investigator_a, subject_a):
    settings.API_REQUESTS_PER_MINUTE = 3
    api = ApiClient(
        client, token_create(user=investigator_a, name="x", scope="read", days=7).secret
    )
    assert [api.get("/subjects").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/subjects")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert problem(limited)["title"] == "Too many requests"
    # Another token of the same user has its own count.
    other = ApiClient(
        client, token_create(user=investigator_a, name="y", scope="read", days=7).secret
    )
    assert other.get("/subjects").status_code == 200


def test_the_schema_and_its_documentation_page_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/mrd-results" in schema["paths"]
    assert "/api/v1/subjects" in schema["paths"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"/static/ninja/swagger-ui-bundle.js" in page.content  # from this server, no CDN
    assert b"cdn." not in page.content


def test_every_export_file_has_its_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for domain in domains():
        name = domain.file.removesuffix(".csv").replace("_", "-")
        assert f"/api/v1/{name}" in paths and f"/api/v1/{name}/{{record_id}}" in paths


def _as_csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(value)
    text = str(value)
    return text[:-1] + "+00:00" if text.endswith("Z") else text


@pytest.mark.parametrize("file", ["subjects.csv", "lab_values.csv", "lab_panels.csv"])
@pytest.mark.verifies("UR-EXP-01")
def test_the_api_reads_what_the_csv_export_writes(
    tmp_path, api_as, investigator_a, subject_a, file
):
    lab_panel_for(subject_a, by=investigator_a, alt="250.5", uln="40")
    study_csv_write(tmp_path / "study.zip", site_ids=None)
    with zipfile.ZipFile(tmp_path / "study.zip") as archive:
        exported = list(csv.DictReader(io.TextIOWrapper(archive.open(file), "utf-8-sig")))
    resource = file.removesuffix(".csv").replace("_", "-")
    served = api_as(investigator_a).get(f"/{resource}").json()["results"]
    assert len(served) == len(exported) >= 1
    for row, csv_row in zip(served, exported, strict=True):
        assert {k: _as_csv_text(v) for k, v in row.items() if k in csv_row} == csv_row


def test_a_page_costs_the_same_queries_however_many_records(
    api_as, site_a, investigator_a, django_assert_max_num_queries
):
    for _ in range(3):
        lab_panel_for(enrol(site_a, by=investigator_a), by=investigator_a)
    api = api_as(investigator_a)
    api.get("/lab-values")  # the day's first use writes its account event
    # The token, its request count, the user's sites, the page.
    with django_assert_max_num_queries(5):
        rows = api.get("/lab-values", limit=1000).json()["results"]
    assert len(rows) == 3
