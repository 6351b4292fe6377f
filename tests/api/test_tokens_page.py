"""The account's API tokens page: a token is shown once and kept as a digest, narrowed to a site
and to reading as chosen, revoked by its owner only; each step is an account event."""

import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountEvent
from api.models import ApiToken
from crf.models import Role
from tests.factories import UserFactory, user_with_role

from .conftest import ApiClient

pytestmark = pytest.mark.verifies("UR-API-02")


def _create(client, **fields):
    return client.post(
        reverse("api:tokens"), {"name": "LIMS", "scope": "read_write", "days": 90, **fields}
    )


def test_a_token_is_shown_once_and_only_its_digest_is_kept(client, investigator_a, subject_a):
    client.force_login(investigator_a)
    page = _create(client)
    secret = page.context["created"].secret
    assert secret.startswith("bcl_") and secret in page.content.decode()
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.prefix, token.digest, token.name}
    again = client.get(reverse("api:tokens")).content.decode()
    assert secret not in again and f"bcl_{token.prefix}" in again and "LIMS" in again
    expires = timezone.localtime(token.expires_at)
    assert f"{expires:%Y-%m-%d %H:%M} {expires.tzname()}" in again  # the site's clock, zoned
    (event,) = AccountEvent.objects.filter(kind=AccountEvent.Kind.TOKEN_CREATED)
    assert event.user == investigator_a and "LIMS" in event.detail and secret not in event.detail
    assert ApiClient(client, secret).get("/subjects").status_code == 200


def test_a_token_narrowed_to_a_site_and_to_reading(client, site_a, site_b, subject_a, subject_b):
    manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
    client.force_login(manager)
    secret = _create(client, scope="read", site=site_b.pk).context["created"].secret
    token = ApiToken.objects.get()
    assert (token.scope, token.site) == ("read", site_b)
    assert "site 2 only" in AccountEvent.objects.get(kind="token_created").detail
    rows = ApiClient(client, secret).get("/subjects").json()["results"]
    assert [r["study_id"] for r in rows] == ["2-01"]


def test_a_site_without_a_role_and_a_bad_lifetime_are_refused(client, investigator_a, site_b):
    client.force_login(investigator_a)
    page = _create(client, site=site_b.pk, days=10000, name="")
    errors = page.context["form"].errors
    assert {"site", "days", "name"} <= set(errors)
    assert not ApiToken.objects.exists()
    assert not AccountEvent.objects.filter(kind="token_created").exists()


def test_an_account_without_a_role_cannot_create_tokens(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert (
        "Tokens are for accounts with a study role."
        in client.get(reverse("api:tokens")).content.decode()
    )
    assert _create(client).status_code == 403
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_a_token_and_it_is_refused_at_once(client, investigator_a, subject_a):
    client.force_login(investigator_a)
    secret = _create(client).context["created"].secret
    token = ApiToken.objects.get()
    page = client.post(reverse("api:token_revoke", args=[token.pk]), follow=True)
    assert "is revoked" in page.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiClient(client, secret).get("/subjects").status_code == 401
    assert AccountEvent.objects.filter(kind="token_revoked", user=investigator_a).count() == 1
    again = client.post(reverse("api:token_revoke", args=[token.pk]), follow=True)
    assert "already revoked" in again.content.decode()


def test_nobody_revokes_or_sees_another_s_token(client, investigator_a, investigator_b):
    client.force_login(investigator_a)
    _create(client, name="mine")
    token = ApiToken.objects.get()
    client.force_login(investigator_b)
    assert "mine" not in client.get(reverse("api:tokens")).content.decode()
    assert client.post(reverse("api:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_page_needs_a_login(client, db, method):
    response = getattr(client, method)(reverse("api:tokens"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
