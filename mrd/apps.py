from django.apps import AppConfig


class MrdConfig(AppConfig):
    name = "mrd"
    verbose_name = "Minimal residual disease"

    def ready(self):
        from . import services

        services.register()
