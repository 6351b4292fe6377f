"""python manage.py export_study OUT.zip [--format csv|odm] [--sites 1,2]"""

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crf.models import Site
from exports.models import StudyExport
from exports.services import STUDY_FORMATS, export_file_path, export_run


class Command(BaseCommand):
    help = "Export the study (every site, or the sites named) as a ZIP of CSV files or ODM XML."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the file to write (e.g. study.zip or study.xml)")
        parser.add_argument("--format", choices=STUDY_FORMATS, default="csv")
        parser.add_argument("--sites", default="", help="site numbers, comma-separated")

    def handle(self, *args, out, format, sites, **options):
        numbers = []
        if sites:
            try:
                numbers = sorted({int(n) for n in sites.split(",") if n.strip()})
            except ValueError as exc:
                raise CommandError("--sites takes site numbers such as 1,3") from exc
            known = set(Site.objects.filter(number__in=numbers).values_list("number", flat=True))
            if missing := sorted(set(numbers) - known):
                raise CommandError(f"No such site: {', '.join(map(str, missing))}")
        export = StudyExport.objects.create(
            format=format, site_numbers=numbers, status=StudyExport.Status.RUNNING
        )
        try:
            export = export_run(export)
        except Exception as exc:
            raise CommandError(f"Export failed: {exc}") from exc
        shutil.copyfile(export_file_path(export), Path(out))
        for file, count in export.row_counts:
            self.stdout.write(f"{file}: {count} rows")
        self.stdout.write(f"Wrote {out} ({export.file_size} bytes), SHA-256 {export.sha256}")
