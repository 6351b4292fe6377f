from django.core.management.base import BaseCommand, CommandError

from alerts import services
from crf.models import Subject


class Command(BaseCommand):
    help = "Evaluate the protocol rules now, for every subject or one (--subject 1-01)."

    def add_arguments(self, parser):
        parser.add_argument("--subject", help="study ID, e.g. 1-01")

    def handle(self, *args, subject=None, **options):
        if subject:
            found = Subject.objects.filter(study_id=subject).first()
            if found is None:
                raise CommandError(f"No subject {subject}.")
            result = services.subject_evaluate(found.pk)
            self.stdout.write(f"{subject}: {result}")
            return
        count = services.all_subjects_evaluate()
        self.stdout.write(f"{count} subjects evaluated.")
