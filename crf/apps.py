from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = "Case report forms"

    def ready(self):
        from . import editchecks

        # What the write pipeline derives and checks for crf's own records.
        editchecks.register()
