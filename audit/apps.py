from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # After every migrate (and the test suite's flushes): the database stamps history rows.
        post_migrate.connect(_history_stamp, sender=self, dispatch_uid="audit.history_stamp")


def _history_stamp(using, **kwargs):
    from django.db import connections

    from .roles import history_stamp_install

    history_stamp_install(connections[using])
