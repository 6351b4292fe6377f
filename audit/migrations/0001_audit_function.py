from django.db import migrations

from audit.operations import InstallAuditFunction


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [InstallAuditFunction()]
