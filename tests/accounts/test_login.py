"""Logins, lockout by username, password rules, and the account events an inspector reads."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AccountEvent
from crf.models import Role
from tests.factories import PASSWORD, UserFactory, user_with_role

pytestmark = pytest.mark.verifies("UR-ACC-03")

LOGIN = "/accounts/login/"


def _kinds(username):
    return list(
        AccountEvent.objects.filter(username=username).order_by("id").values_list("kind", flat=True)
    )


@pytest.mark.django_db
def test_login_and_logout_are_recorded(client, site_a):
    user = user_with_role(Role.INVESTIGATOR, site_a, username="anna")
    response = client.post(LOGIN, {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302
    client.post(reverse("accounts:logout"))
    assert _kinds("anna") == ["login", "logout"]
    assert AccountEvent.objects.filter(user=user, ip_address="127.0.0.1").count() == 2


@pytest.mark.django_db
def test_five_failures_lock_the_username_for_30_minutes(client):
    UserFactory(username="bob")
    for _ in range(5):
        response = client.post(LOGIN, {"username": "bob", "password": "not-the-password"})
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    # Even the right password is refused now.
    locked = client.post(LOGIN, {"username": "bob", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    kinds = _kinds("bob")
    assert kinds.count("login_failed") >= 5
    assert "locked_out" in kinds
    assert "login" not in kinds


@pytest.mark.django_db
def test_four_failures_do_not_lock(client):
    UserFactory(username="carol")
    for _ in range(4):
        client.post(LOGIN, {"username": "carol", "password": "not-the-password"})
    assert client.post(LOGIN, {"username": "carol", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_lockout_is_per_username_not_per_address(client):
    UserFactory(username="dave")
    UserFactory(username="erin")
    for _ in range(5):
        client.post(LOGIN, {"username": "dave", "password": "not-the-password"})
    # Erin works at the same hospital (same address) and can still log in.
    assert client.post(LOGIN, {"username": "erin", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_failed_login_for_unknown_username_is_recorded(client):
    response = client.post(LOGIN, {"username": "nobody", "password": "whatever-it-is"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert _kinds("nobody") == ["login_failed"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt-pass!", "at least 12 characters"),
        ("password1234", "too common"),
        ("839201746352", "entirely numeric"),
    ],
)
def test_password_rules(password, message):
    with pytest.raises(ValidationError) as refusal:
        validate_password(password)
    assert any(message in m for m in refusal.value.messages)


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2id_at_owasps_parameters(settings):
    settings.PASSWORD_HASHERS = settings.PRODUCTION_PASSWORD_HASHERS
    user = UserFactory()
    # argon2$argon2id$v=19$m=19456,t=2,p=1$salt$hash: OWASP's minimum (19 MiB, 2 passes, 1 lane)
    algorithm, variety, version, params, *_ = user.password.split("$")
    assert (algorithm, variety) == ("argon2", "argon2id")
    assert params == "m=19456,t=2,p=1"


@pytest.mark.django_db
def test_a_password_stored_with_older_parameters_still_logs_in_and_is_rehashed(client, settings):
    """Accounts created before the parameters changed (Django's default: 100 MiB, 8 lanes) keep
    working: the password verifies and is stored again with the current parameters."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    settings.PASSWORD_HASHERS = settings.PRODUCTION_PASSWORD_HASHERS
    user = UserFactory(username="older.hash")
    user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])
    assert "m=102400,t=2,p=8" in user.password
    response = client.post(LOGIN, {"username": "older.hash", "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password


def test_only_the_test_suite_hashes_with_a_fast_hasher():
    production = _settings_of(SECRET_KEY="a-long-random-secret-for-this-test-only")
    assert production == "accounts.hashers.OwaspArgon2PasswordHasher"
    assert _settings_of(DEBUG="1") == "accounts.hashers.OwaspArgon2PasswordHasher"
    assert _settings_of(DEBUG="1", BLINACELL_TESTING="1").endswith("MD5PasswordHasher")


def _settings_of(**env) -> str:
    """The first password hasher of a fresh process started with `env`."""
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    base.pop("BLINACELL_TESTING", None)
    probe = "import django; django.setup(); from django.conf import settings; "
    probe += "print(settings.PASSWORD_HASHERS[0])"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**base, "DJANGO_SETTINGS_MODULE": "blinacell_site.settings", **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.django_db
def test_password_change_is_recorded_and_checked(client):
    user = UserFactory(username="frank")
    client.force_login(user)
    url = reverse("accounts:password_change")
    weak = client.post(
        url, {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"}
    )
    assert "at least 12 characters" in weak.content.decode()
    new = "a-much-longer-passphrase-77"
    client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    user.refresh_from_db()
    assert user.check_password(new)
    assert _kinds("frank") == ["login", "password_changed"]


@pytest.mark.django_db
def test_pages_carry_the_idle_timeout_for_the_warning(client, investigator_a):
    client.force_login(investigator_a)
    page = client.get(reverse("home")).content.decode()
    assert 'data-session-timeout="1800"' in page
    assert 'data-session-warning="300"' in page
    assert client.session.get_expiry_age() == 1800


@pytest.mark.django_db
def test_admin_is_for_staff_only_behind_the_same_login(client):
    anonymous = client.get("/admin/")
    assert anonymous.status_code == 302
    follow = client.get(anonymous["Location"])
    assert follow["Location"].startswith(LOGIN)
    client.force_login(UserFactory(username="grace"))
    assert client.get("/admin/login/").status_code == 403
    staff = get_user_model().objects.create_user("root2", password=PASSWORD, is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
