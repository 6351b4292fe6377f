from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo study that `make run` loads: it writes through every app's services, so it sits
    above them all."""

    name = "demo"
    verbose_name = "Demo study"
