"""Load the CTCAE v5.0 terms the project ships (protocol/ctcae_terms.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from protocol.ctcae_terms import TERMS

    CtcaeTerm = apps.get_model("safety", "CtcaeTerm")
    for term in TERMS:
        CtcaeTerm.objects.update_or_create(
            meddra_code=term.meddra_code,
            defaults={
                "term": term.term,
                "soc": term.soc,
                "grades": ",".join(str(g) for g in sorted(term.grades)),
            },
        )


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
