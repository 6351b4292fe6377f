"""python manage.py database_setup --app-url URL

Run as the database owner (DATABASE_URL = the owner's connection): migrates, then creates the
application role of URL if it is missing and grants it what the eCRF needs and nothing more
(audit.roles). The web, the worker and beat then connect with URL.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.roles import application_role_grant, role_of


class Command(BaseCommand):
    help = "Migrate as the owner, then set up the application's database role."

    def add_arguments(self, parser):
        parser.add_argument("--app-url", required=True, help="the application's DATABASE_URL")
        parser.add_argument("--skip-migrate", action="store_true")

    def handle(self, *args, app_url, skip_migrate, **options):
        role, password = role_of(app_url)
        if not role:
            raise CommandError("--app-url names no role")
        if role == connection.settings_dict["USER"]:
            raise CommandError("the application role must not be the owner: give another role")
        if not skip_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        try:
            application_role_grant(role, password)
        except ValueError as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(f"Database ready; the application connects as {role}.")
