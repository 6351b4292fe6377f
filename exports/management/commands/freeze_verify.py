"""python manage.py freeze_verify [NAME ...]: each freeze's hash, and its stored reports
computed again, compared with what was recorded (all freezes without a name)."""

from django.core.management.base import BaseCommand, CommandError

from exports.freezes import freeze_verify
from exports.models import Freeze, StoredReport
from exports.stored_reports import recomputed_differences


class Command(BaseCommand):
    help = (
        "Hash each freeze's tables again and compute its stored reports again; fails when "
        "anything differs from what was recorded when it was frozen and first reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="freeze names (all freezes if none)")

    def handle(self, *args, names, **options):
        freezes = Freeze.objects.order_by("frozen_at")
        if names:
            freezes = freezes.filter(name__in=names)
            if missing := sorted(set(names) - {f.name for f in freezes}):
                raise CommandError(f"No freeze named {', '.join(map(repr, missing))}.")
        failed = []
        for freeze in freezes:
            verification = freeze_verify(freeze)
            if verification.ok:
                self.stdout.write(
                    f"Freeze {freeze.name!r}: {freeze.rows} rows, SHA-256 {freeze.sha256}: same"
                )
            else:
                failed.append(freeze.name)
                tables = ", ".join(verification.differing) or "its total"
                self.stdout.write(f"Freeze {freeze.name!r}: DIFFERS in {tables}")
            for stored in StoredReport.objects.filter(freeze=freeze, computed_at__isnull=False):
                differing = recomputed_differences(stored)
                where = f"sites {stored.site_numbers}, {stored.period}"
                if differing:
                    failed.append(f"{freeze.name} report ({where})")
                    self.stdout.write(f"  report of {where}: DIFFERS in {', '.join(differing)}")
                else:
                    self.stdout.write(f"  report of {where}: computed again, byte-identical")
        if failed:
            raise CommandError(f"Not as recorded: {'; '.join(failed)}")
