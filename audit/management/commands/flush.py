"""Django's `flush`, able to empty append-only audit tables only inside the test suite.

Outside tests the history tables refuse TRUNCATE, so a flush of a live study fails instead of
wiping its audit trail. Transactional tests must empty the database between tests; they run
with BLINACELL_TESTING=1 as a superuser, and only then are the triggers set aside for the flush.
"""

from django.conf import settings
from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import DEFAULT_DB_ALIAS, connections


class Command(DjangoFlushCommand):
    def handle(self, **options):
        if not settings.TESTING:
            return super().handle(**options)
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
