"""python manage.py import_study DIR_OR_ZIP [--user USERNAME]"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from alerts.services import subjects_evaluate
from exports.importer import StudyImportFailed, study_import

EVALUATION_BATCH = 200


class Command(BaseCommand):
    help = (
        "Load a study from CSV files in the export format (a folder or the export's ZIP). "
        "Everything is checked first; on any error nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="folder of CSV files or the export's ZIP")
        parser.add_argument("--user", default="", help="username recorded as the importer")

    def handle(self, *args, source, user, **options):
        path = Path(source)
        if not path.exists():
            raise CommandError(f"{source}: no such file or folder")
        importer = None
        if user:
            importer = get_user_model().objects.filter(username=user).first()
            if importer is None:
                raise CommandError(f"No user {user!r}")
        try:
            result = study_import(path, user=importer)
        except StudyImportFailed as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(failed.errors)} error(s): nothing was imported") from None
        for file, count in result.counts.items():
            self.stdout.write(f"{file}: {count} rows imported")
        if result.users_created:
            self.stdout.write(
                "Inactive accounts created for the names in the files (they cannot log in): "
                + ", ".join(result.users_created)
            )
        if result.statuses_derived:
            self.stdout.write(
                f"{result.statuses_derived} subject(s) had a status other than their end-of-study "
                "and death records give: their status now follows the records (audited)."
            )
        self.stdout.write(f"Imported {sum(result.counts.values())} records.")
        # The import marked every subject for the protocol rules, and the worker evaluates them
        # as it does after any save; evaluating here too means the alerts exist when this
        # command returns, whether or not a worker runs (evaluation is idempotent).
        subjects = result.subject_ids
        for start in range(0, len(subjects), EVALUATION_BATCH):
            subjects_evaluate(subjects[start : start + EVALUATION_BATCH])
        self.stdout.write(f"Protocol rules evaluated for {len(subjects)} subject(s).")
