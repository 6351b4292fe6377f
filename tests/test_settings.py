"""Settings come from the environment; production refuses to start without a secret key."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.verifies("UR-OPS-01")

PROBE = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def _start(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    base.pop("BLINACELL_TESTING", None)
    base["DJANGO_SETTINGS_MODULE"] = "blinacell_site.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True
    )


@pytest.mark.verifies("UR-ACC-05")
def test_debug_is_off_unless_asked_and_a_secret_key_is_then_required():
    refused = _start()
    assert refused.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in refused.stderr
    production = _start(SECRET_KEY="a-long-random-secret-for-this-test-only")
    assert production.returncode == 0, production.stderr
    assert production.stdout.strip() == "False"


def test_malformed_flag_is_a_clear_error():
    result = _start(DEBUG="maybe")
    assert "DEBUG must be one of" in result.stderr


def test_only_postgresql_is_accepted():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    result = _start(SECRET_KEY="x" * 40, DATABASE_URL="sqlite:///tmp/x.db")
    assert "runs on PostgreSQL only" in result.stderr


def test_roles_requiring_a_second_factor_come_from_the_environment():
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TWO_FACTOR_REQUIRED_ROLES)"
    )

    def start(**env):
        base = {k: v for k, v in os.environ.items() if k != "TWO_FACTOR_REQUIRED_ROLES"}
        return subprocess.run(
            [sys.executable, "-c", probe], env={**base, **env}, capture_output=True, text=True
        )

    assert start().stdout.strip() == "[]"
    listed = start(TWO_FACTOR_REQUIRED_ROLES="investigator, monitor")
    assert listed.stdout.strip() == "['investigator', 'monitor']", listed.stderr
    assert start(TWO_FACTOR_REQUIRED_ROLES="*").stdout.strip() == "['*']"
    misspelt = start(TWO_FACTOR_REQUIRED_ROLES="investigators")
    assert misspelt.returncode != 0
    assert "TWO_FACTOR_REQUIRED_ROLES: unknown role(s) investigators" in misspelt.stderr
