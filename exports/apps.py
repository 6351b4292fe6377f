from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports and study reports"

    def ready(self):
        from django.db.models.signals import post_delete, post_migrate, post_save

        from audit.services import write_guard_register
        from crf.services.records import on_subjects_changed

        from .closeout import study_lock_guard, study_lock_guard_many
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
        # A locked study refuses every write of its data, whatever the route.
        write_guard_register(study_lock_guard, many=study_lock_guard_many)
        # Freezes taken before a migration get the tables and columns it added (empty).
        post_migrate.connect(_freezes_align, sender=self, dispatch_uid="exports-freezes-align")


def _freezes_align(sender, using="default", **kwargs) -> None:
    from django.db import connections

    from .freezes import freezes_align

    freezes_align(connections[using])
