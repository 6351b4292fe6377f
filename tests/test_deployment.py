"""docker compose describes the production-shaped stack with two database roles (no Docker
engine runs here: the file is checked as the stack would read it)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.verifies("UR-OPS-01", "UR-AUD-01")

COMPOSE = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text()
)


def _env(service: str) -> dict[str, str]:
    """The service's environment with its ${VARIABLES} filled in (as from the .env file)."""
    values = COMPOSE["services"][service]["environment"]
    return {name: re.sub(r"\$\{[^}]*\}", "secret", str(value)) for name, value in values.items()}


def test_the_application_processes_connect_as_the_application_role():
    for service in ("web", "worker", "beat"):
        app = urlsplit(_env(service)["DATABASE_URL"])
        owner = urlsplit(_env(service)["DATABASE_OWNER_URL"])
        assert app.username == "blinacell_app", service
        assert owner.username == COMPOSE["services"]["postgres"]["environment"]["POSTGRES_USER"]
        assert app.username != owner.username


def test_web_migrates_as_the_owner_before_serving_and_the_workers_wait_for_it():
    command = COMPOSE["services"]["web"]["command"]
    setup, serve = command.split("&&")
    assert "DATABASE_URL=$$DATABASE_OWNER_URL" in setup and "database_setup" in setup
    assert '--app-url \\"$$DATABASE_URL\\"' in setup  # the application's URL, quoted
    assert "gunicorn" in serve and "migrate" not in serve
    for service in ("worker", "beat"):
        assert COMPOSE["services"][service]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_stack_requires_a_second_factor_of_every_account():
    """docker compose asks every account for two-step sign-in, unless the .env file lists roles
    (the settings' default, for make run's demo and the benchmarks, asks nobody)."""
    value = COMPOSE["services"]["web"]["environment"]["TWO_FACTOR_REQUIRED_ROLES"]
    assert value == "${TWO_FACTOR_REQUIRED_ROLES:-*}"
