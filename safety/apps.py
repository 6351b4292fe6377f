from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = "Safety"

    def ready(self):
        from . import services

        services.register()
        # The shipped CTCAE terms are reference data: a flush (the test suite's, between
        # transactional tests) must not leave the study without them.
        post_migrate.connect(_shipped_terms_ensure, sender=self)


def _shipped_terms_ensure(using, **kwargs):
    from protocol.ctcae_terms import TERMS

    from .models import CtcaeTerm

    if CtcaeTerm.objects.using(using).exists():
        return
    CtcaeTerm.objects.using(using).bulk_create(
        CtcaeTerm(
            meddra_code=term.meddra_code,
            term=term.term,
            soc=term.soc,
            grades=",".join(str(g) for g in sorted(term.grades)),
        )
        for term in TERMS
    )
