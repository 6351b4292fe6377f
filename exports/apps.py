from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports and study reports"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from crf.services.records import on_subjects_changed

        from .stored_reports import record_saved, report_models, subjects_changed

        # Every save, upload and import through the write pipeline marks the stored reports of
        # the subjects' sites stale (in its transaction) ...
        on_subjects_changed(subjects_changed)
        # ... and so does any other write of a record the reports count (enrolment, treatment
        # planning, protocol decisions, sites), whichever route it takes.
        for model in report_models():
            post_save.connect(
                record_saved, sender=model, dispatch_uid=f"reports-{model._meta.label}"
            )
            post_delete.connect(
                record_saved, sender=model, dispatch_uid=f"reports-del-{model._meta.label}"
            )
