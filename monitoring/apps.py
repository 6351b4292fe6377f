from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self):
        from audit.services import write_guard_register
        from crf.services.records import on_correction_answers_query, on_soft_checks_confirmed

        from .locks import lock_guard, lock_guard_many
        from .queries import queries_from_edit_checks, query_answer_with_change

        # Locked data refuses every audited write, whatever the route (web, upload, command).
        write_guard_register(lock_guard, many=lock_guard_many)
        # The monitor reviews every soft check an investigator overrode as a query.
        on_soft_checks_confirmed(queries_from_edit_checks)
        # A correction on the record form may answer the query it was asked for.
        on_correction_answers_query(query_answer_with_change)
