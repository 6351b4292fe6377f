"""Two-step sign-in: an authenticator app enrolled by QR code, single-use recovery codes, the
code asked after the password and at signature, wrong codes counting toward the lockout, the
requirement by role from the settings, and every step in the account events."""

import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent
from crf.access import second_factor_roles_check
from crf.models import Role
from monitoring.models import Signature
from monitoring.signatures import signature_create
from tests.factories import PASSWORD, UserFactory, user_with_role

LOGIN = "/accounts/login/"
PAGE = "/accounts/two-factor/"
VERIFY = "/accounts/two-factor/verify/"
Kind = AccountEvent.Kind

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-ACC-04")]


@pytest.fixture
def clock(monkeypatch):
    """django-otp's clock, moved on by hand: a TOTP code works once, so each step of a test
    takes the code of a later 30-second window."""
    now = SimpleNamespace(value=1_900_000_000.0)
    monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: now.value))

    def tick():
        now.value += 30
        return now.value

    now.tick = tick
    return now


def _code(device, clock) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = clock.value
    return f"{totp.token():06d}"


def _kinds(user) -> list[str]:
    return list(
        AccountEvent.objects.filter(user=user).order_by("id").values_list("kind", flat=True)
    )


def _login(client, user, next_url=""):
    data = {"username": user.get_username(), "password": PASSWORD}
    return client.post(f"{LOGIN}?next={next_url}" if next_url else LOGIN, data)


def _enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def _verified_login(client, user, device, clock):
    _login(client, user)
    response = client.post(VERIFY, {"code": _code(device, clock)})
    assert response.status_code == 302, response.content.decode()
    clock.tick()


@pytest.fixture
def anna(site_a):
    return user_with_role(Role.INVESTIGATOR, site_a, username="anna")


# --- Enrolment -----------------------------------------------------------------------------


def test_enrolment_by_qr_code_turns_it_on_and_shows_recovery_codes_once(client, anna, clock):
    _login(client, anna)
    page = client.get(PAGE).content.decode()
    assert "Off: you sign in with your password only" in page
    assert "<svg" in page and "QR code for your authenticator app" in page
    assert "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]  # the CSP allows none
    pending = TOTPDevice.objects.get(user=anna, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert secret == pending.config_url.split("secret=")[1].split("&")[0]
    assert "issuer=BlinaCell%20eCRF" in pending.config_url
    # The same pending secret on reload (the QR code already scanned stays good).
    assert secret in client.get(PAGE).content.decode().replace(" ", "")

    wrong = client.post(PAGE, {"action": "enrol", "enrol-code": "000000"})
    assert "The code is not correct: nothing was set up." in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=anna, confirmed=True).exists()

    done = client.post(PAGE, {"action": "enrol", "enrol-code": _code(pending, clock)})
    body = done.content.decode()
    assert "Two-step sign-in is on." in body
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", body)
    assert len(codes) == 10
    assert sorted(codes) == sorted(StaticToken.objects.values_list("token", flat=True))
    pending.refresh_from_db()
    assert pending.confirmed
    assert _kinds(anna) == [
        Kind.LOGIN,
        Kind.TWO_FACTOR_FAILED,
        Kind.TWO_FACTOR_ENROLLED,
        Kind.RECOVERY_CODES_CREATED,
    ]
    # This session passed the second factor; the codes are not shown again.
    assert client.get(reverse("crf:subject_list")).status_code == 200
    again = client.get(PAGE).content.decode()
    assert "On: after your password" in again and codes[0] not in again
    assert "Recovery codes left: 10 of 10" in again


def test_the_user_menu_links_to_two_step_sign_in(client, anna):
    client.force_login(anna)
    assert f'href="{PAGE}"' in client.get(reverse("home")).content.decode()


# --- The code after the password -----------------------------------------------------------


def test_login_asks_the_code_before_any_page(client, anna, clock):
    device = _enrolled(anna)
    wanted = reverse("crf:subject_list")
    assert _login(client, anna, next_url=wanted)["Location"] == wanted
    for url in (wanted, reverse("home"), reverse("accounts:password_change"), PAGE):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(VERIFY)
    assert client.get(wanted)["Location"] == f"{VERIFY}?next=%2Fsubjects%2F"
    assert "authenticator app shows" in client.get(VERIFY).content.decode()
    # Not sent away from logging out, the session keepalive or static files.
    assert client.post(reverse("accounts:keepalive")).status_code == 200

    response = client.post(VERIFY, {"code": _code(device, clock), "next": wanted})
    assert response["Location"] == wanted
    assert client.get(wanted).status_code == 200
    assert _kinds(anna) == [Kind.LOGIN, Kind.TWO_FACTOR_VERIFIED]


def test_a_code_works_once(client, anna, clock):
    device = _enrolled(anna)
    code = _code(device, clock)
    _login(client, anna)
    assert client.post(VERIFY, {"code": code}).status_code == 302
    client.post(reverse("accounts:logout"))
    _login(client, anna)
    replay = client.post(VERIFY, {"code": code})
    assert replay.status_code == 200 and "each code works once" in replay.content.decode()


def test_a_wrong_code_is_refused_recorded_and_counts_toward_the_lockout(client, anna, clock):
    device = _enrolled(anna)
    _login(client, anna)
    for _ in range(4):
        response = client.post(VERIFY, {"code": "123456"})
        assert response.status_code == 200
        assert "The code is not correct" in response.content.decode()
        assert client.get(reverse("home"))["Location"].startswith(VERIFY)
    assert _kinds(anna).count(Kind.TWO_FACTOR_FAILED) == 4

    locked = client.post(VERIFY, {"code": "654321"})
    assert locked.status_code == 429
    assert "Account locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session  # signed out
    assert Kind.LOCKED_OUT in _kinds(anna)
    # Locked: even the right password is refused at login now (django-axes).
    assert _login(client, anna).status_code == 429
    assert "_auth_user_id" not in client.session
    assert not _kinds(anna).count(Kind.TWO_FACTOR_VERIFIED)
    assert device.confirmed


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(client, anna, clock):
    """A right password resets django-axes' count; wrong codes still add up, or a thief with the
    password could try codes for ever, four per login."""
    device = _enrolled(anna)
    for _ in range(2):
        _login(client, anna)
        for _ in range(2):
            client.post(VERIFY, {"code": "123456"})
        client.post(reverse("accounts:logout"))
    _login(client, anna)
    locked = client.post(VERIFY, {"code": "000000"})
    assert locked.status_code == 429
    _login(client, anna)
    refused = client.post(VERIFY, {"code": _code(device, clock)})  # even the right code
    assert refused.status_code == 429
    assert Kind.TWO_FACTOR_VERIFIED not in _kinds(anna)


def test_a_recovery_code_works_once(client, anna, clock):
    device = _enrolled(anna)
    _verified_login(client, anna, device, clock)
    body = client.post(PAGE, {"action": "recovery", "recovery-code": _code(device, clock)})
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", body.content.decode())
    assert len(codes) == 10
    client.post(reverse("accounts:logout"))

    _login(client, anna)
    assert client.post(VERIFY, {"code": codes[0].upper()})["Location"] == reverse("home")
    assert Kind.RECOVERY_CODE_USED in _kinds(anna)
    client.post(reverse("accounts:logout"))
    _login(client, anna)
    again = client.post(VERIFY, {"code": codes[0]})
    assert again.status_code == 200 and "The code is not correct" in again.content.decode()
    assert _kinds(anna)[-1] == Kind.TWO_FACTOR_FAILED
    assert StaticToken.objects.filter(device__user=anna).count() == 9


def test_new_recovery_codes_replace_the_old_ones(client, anna, clock):
    device = _enrolled(anna)
    _verified_login(client, anna, device, clock)
    first = client.post(PAGE, {"action": "recovery", "recovery-code": _code(device, clock)})
    old = re.findall(r"<li>([a-z2-7]{8})</li>", first.content.decode())
    clock.tick()
    second = client.post(PAGE, {"action": "recovery", "recovery-code": _code(device, clock)})
    assert "the earlier ones no longer work" in second.content.decode()
    tokens = set(StaticToken.objects.values_list("token", flat=True))
    assert len(tokens) == 10 and not tokens & set(old)
    assert StaticDevice.objects.filter(user=anna).count() == 1


# --- Removal -------------------------------------------------------------------------------


def test_removal_needs_a_right_code(client, anna, clock):
    device = _enrolled(anna)
    _verified_login(client, anna, device, clock)
    wrong = client.post(PAGE, {"action": "remove", "remove-code": "111111"})
    assert "nothing was removed" in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=anna).exists()
    done = client.post(PAGE, {"action": "remove", "remove-code": _code(device, clock)}, follow=True)
    assert "Two-step sign-in is off" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=anna, confirmed=True).exists()
    assert Kind.TWO_FACTOR_REMOVED in _kinds(anna)
    assert client.get(reverse("crf:subject_list")).status_code == 200


def test_removal_is_refused_where_the_role_requires_it(client, anna, clock, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["investigator"]
    device = _enrolled(anna)
    _verified_login(client, anna, device, clock)
    page = client.get(PAGE).content.decode()
    assert "Your role requires two-step sign-in: it cannot be removed." in page
    refused = client.post(PAGE, {"action": "remove", "remove-code": _code(device, clock)})
    assert "cannot be removed" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=anna, confirmed=True).exists()


# --- Required by role (TWO_FACTOR_REQUIRED_ROLES) ------------------------------------------


def test_a_required_role_is_sent_to_enrolment_from_every_page(client, anna, site_a, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["investigator", "monitor"]
    _login(client, anna)
    for url in (reverse("home"), reverse("crf:subject_list"), reverse("alerts:inbox"), VERIFY):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(PAGE)
    assert client.get(PAGE).status_code == 200
    assert "Your role requires two-step sign-in." in client.get(PAGE).content.decode()

    # A role not in the list signs in with the password only.
    client.post(reverse("accounts:logout"))
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    _login(client, lab)
    assert client.get(reverse("home")).status_code == 200


def test_star_requires_it_of_every_account(client, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["*"]
    staff = UserFactory(username="root", is_staff=True)
    _login(client, staff)
    assert client.get("/admin/")["Location"] == f"{PAGE}?next=%2Fadmin%2F"


def test_not_required_by_default(client, anna, settings):
    assert settings.TWO_FACTOR_REQUIRED_ROLES == []
    _login(client, anna)
    assert client.get(reverse("crf:subject_list")).status_code == 200


def test_an_unknown_role_in_the_setting_is_refused(settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["investigators"]
    with pytest.raises(ImproperlyConfigured, match="unknown role"):
        second_factor_roles_check()


# --- Electronic signature ------------------------------------------------------------------


@pytest.fixture
def pi_a(site_a):
    return user_with_role(Role.INVESTIGATOR, site_a, principal_investigator=True, username="pi")


@pytest.mark.verifies("UR-LCK-02")
def test_a_signature_needs_the_code_of_a_signer_with_an_authenticator(
    client, pi_a, subject_a, clock
):
    device = _enrolled(pi_a)
    _verified_login(client, pi_a, device, clock)
    url = reverse("monitoring:sign_casebook", args=[subject_a.study_id])
    assert "Code from your authenticator app" in client.get(url).content.decode()

    refused = client.post(url, {"password": PASSWORD})
    assert refused.status_code == 200
    assert "The code is not correct: nothing was signed." in refused.content.decode()
    assert not Signature.objects.exists()
    assert _kinds(pi_a)[-2:] == [Kind.TWO_FACTOR_FAILED, Kind.SIGNATURE_FAILED]

    signed = client.post(url, {"password": PASSWORD, "second_factor": _code(device, clock)})
    assert signed.status_code == 302
    assert Signature.objects.filter(signer=pi_a).count() == 1
    assert _kinds(pi_a)[-2:] == [Kind.TWO_FACTOR_VERIFIED, Kind.SIGNED]


@pytest.mark.verifies("UR-LCK-02")
def test_a_signature_is_refused_where_required_and_not_set_up(pi_a, subject_a, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["investigator"]
    with pytest.raises(ValidationError) as refusal:
        signature_create(subject=subject_a, password=PASSWORD, second_factor="123456", user=pi_a)
    assert "requires two-step sign-in" in str(refusal.value.message_dict["second_factor"])
    assert not Signature.objects.exists()
    assert _kinds(pi_a) == [Kind.SIGNATURE_FAILED]


@pytest.mark.verifies("UR-LCK-02")
def test_without_an_authenticator_the_signature_asks_no_code(client, pi_a, subject_a):
    client.force_login(pi_a)
    url = reverse("monitoring:sign_casebook", args=[subject_a.study_id])
    assert "authenticator" not in client.get(url).content.decode()
    assert client.post(url, {"password": PASSWORD}).status_code == 302
