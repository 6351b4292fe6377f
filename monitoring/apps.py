from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self):
        from audit.services import write_guard_register

        from .locks import lock_guard

        # Locked data refuses every audited write, whatever the route (web, upload, command).
        write_guard_register(lock_guard)
