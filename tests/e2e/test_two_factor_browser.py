"""Two-step sign-in in a real browser: set up from the QR page's key, recovery codes shown once,
the code page after the password; no Content-Security-Policy violation and WCAG 2.1 AA on each
page (the QR code is inline SVG)."""

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from crf.models import Role
from tests.e2e.test_accessibility import _violations
from tests.factories import PASSWORD, user_with_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.verifies("UR-ACC-04", "UR-OPS-03"),
]


def _code_now(secret: str) -> str:
    totp = TOTP(b32decode(secret.replace(" ", "")))
    totp.time = time.time()
    return f"{totp.token():06d}"


def test_set_up_then_sign_in_with_a_recovery_code(page, live_server, log_in, site_a):
    user_with_role(Role.INVESTIGATOR, site_a, username="inv.2fa")
    csp = []
    page.on(
        "console",
        lambda message: (
            csp.append(message.text) if "Content Security Policy" in message.text else 0
        ),
    )
    report = []
    log_in("inv.2fa", PASSWORD)
    page.get_by_role("button", name="inv.2fa").click()
    page.get_by_role("link", name="Two-step sign-in").click()
    expect(page.locator("svg.segno")).to_be_visible()
    report += [f"set-up page: {v}" for v in _violations(page)]

    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill(_code_now(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    report += [f"recovery codes shown: {v}" for v in _violations(page)]

    page.get_by_role("button", name="inv.2fa").click()
    page.get_by_role("button", name="Log out").click()
    log_in("inv.2fa", PASSWORD)
    assert "/accounts/two-factor/verify/" in page.url
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("The code is not correct")
    report += [f"code page with an error: {v}" for v in _violations(page)]
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("link", name="Alerts", exact=True)).to_be_visible()
    assert "/accounts/" not in page.url
    assert not report, "\n".join(report)
    assert not csp, csp
