"""python manage.py restore_database IN.dump --into NEW_DATABASE [--check] [--drop-after]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.backup import BackupError, database_drop, database_restore, restore_check


class Command(BaseCommand):
    help = (
        "Restore a dump into a new, empty database on the same server (never over the live "
        "one). With --check, compare the row count of every table with the current database."
    )

    def add_arguments(self, parser):
        parser.add_argument("dump", help="a file written by backup_database")
        parser.add_argument("--into", required=True, help="name of the new database")
        parser.add_argument("--check", action="store_true", help="compare every table's rows")
        parser.add_argument(
            "--drop-after", action="store_true", help="drop the new database after the check"
        )

    def handle(self, *args, dump, into, check, drop_after, **options):
        path = Path(dump)
        if not path.exists():
            raise CommandError(f"{dump}: no such file")
        try:
            if not check:
                database_restore(path, into=into)
                self.stdout.write(f"Restored {dump} into the new database {into}.")
                return
            result = restore_check(path, into=into)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if drop_after:
                database_drop(into)
        for table, (source, restored) in result.differences.items():
            self.stderr.write(f"{table}: {source} rows here, {restored} restored")
        if result.differences:
            raise CommandError(f"{len(result.differences)} table(s) differ")
        self.stdout.write(
            f"Restored {dump} into {into}: {result.tables} tables, {result.rows:,} rows, "
            "every table's count equal to the current database's."
        )
