"""python manage.py backup_database OUT.dump"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.backup import BackupError, database_backup


class Command(BaseCommand):
    help = "Back up the whole study database (pg_dump, custom format) to a file."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the dump file to write, e.g. blinacell-2026-11-25.dump")

    def handle(self, *args, out, **options):
        try:
            path = database_backup(Path(out))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {path} ({path.stat().st_size:,} bytes)")
