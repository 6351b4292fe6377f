from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Protocol alerts"

    def ready(self):
        from crf.services.records import on_subjects_changed
        from safety.services import on_lab_panel_saved

        from .lab_feedback import lab_panel_alerts
        from .marking import subjects_changed

        # Every save that changes a subject's data marks it for rule evaluation.
        on_subjects_changed(subjects_changed)
        # A lab panel just saved: its subject's rules at once, for the lab page to say what rose.
        on_lab_panel_saved(lab_panel_alerts)
