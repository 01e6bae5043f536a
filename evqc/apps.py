from django.apps import AppConfig


class EvqcConfig(AppConfig):
    """Registers evqc's template tags and API extensions; evqc itself has no models."""

    name = "evqc"
    verbose_name = "evqc core"
