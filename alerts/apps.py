from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Protocol alerts"

    def ready(self):
        from crf.services.records import on_subjects_changed

        from .marking import subjects_changed

        # Every save that changes a subject's data marks it for rule evaluation.
        on_subjects_changed(subjects_changed)
