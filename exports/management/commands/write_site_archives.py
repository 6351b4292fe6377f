"""python manage.py write_site_archives --out DIR [--sites 1,2] [--freeze NAME]"""

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crf.models import Site
from exports.models import Freeze, StudyExport
from exports.services import archive_record, export_file_path, export_run


class Command(BaseCommand):
    help = (
        "Write each site's close-out archive (casebook PDFs, CSV and ODM exports, SHA-256 "
        "manifest) into DIR, one ZIP per site; every archive is recorded as an export."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="the directory to write the ZIPs into")
        parser.add_argument("--sites", default="", help="site numbers, comma-separated (all)")
        parser.add_argument("--freeze", default="", help="the data freeze to archive (live data)")

    def handle(self, *args, out, sites, freeze, **options):
        frozen = None
        if freeze:
            frozen = Freeze.objects.filter(name=freeze).first()
            if frozen is None:
                raise CommandError(f"No freeze named {freeze!r}.")
        chosen = Site.objects.order_by("number")
        if sites:
            try:
                numbers = sorted({int(n) for n in sites.split(",") if n.strip()})
            except ValueError as exc:
                raise CommandError("--sites takes site numbers such as 1,3") from exc
            chosen = chosen.filter(number__in=numbers)
            if missing := sorted(set(numbers) - {s.number for s in chosen}):
                raise CommandError(f"No such site: {', '.join(map(str, missing))}")
        if frozen is not None and frozen.site_numbers:
            chosen = chosen.filter(number__in=frozen.site_numbers)  # the sites it holds
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        for site in chosen:
            export = archive_record(site, freeze=frozen)
            StudyExport.objects.filter(pk=export.pk).update(status=StudyExport.Status.RUNNING)
            try:
                export = export_run(export)
            except Exception as exc:
                raise CommandError(f"Archive of site {site.number} failed: {exc}") from exc
            target = directory / export_file_path(export).name
            shutil.copyfile(export_file_path(export), target)
            self.stdout.write(
                f"Site {site.number}: {target} ({export.file_size} bytes), SHA-256 "
                f"{export.sha256}, manifest SHA-256 {export.manifest_sha256}"
            )
