from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.verifies("UR-OPS-01")


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"A model change has no migration:\n{out.getvalue()}")
