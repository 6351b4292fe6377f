from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Protocol alerts"

    def ready(self):
        from crf.records import record_keys_register
        from crf.services.records import on_subjects_changed
        from safety.services import on_lab_panel_saved

        from .facts import RECORD_KINDS
        from .lab_feedback import lab_panel_alerts
        from .marking import subjects_changed
        from .models import Alert, ProtocolDecision

        # The keys of triggering records ("lab:13") read as the records' names (audit trail).
        record_keys_register(
            kinds={
                "response": "crf.ResponseAssessment",
                **{kind: model._meta.label for kind, model in RECORD_KINDS.items()},
            },
            fields={(Alert._meta.label, "record"), (ProtocolDecision._meta.label, "about")},
        )

        # Every save that changes a subject's data marks it for rule evaluation.
        on_subjects_changed(subjects_changed)
        # A lab panel just saved: its subject's rules at once, for the lab page to say what rose.
        on_lab_panel_saved(lab_panel_alerts)
