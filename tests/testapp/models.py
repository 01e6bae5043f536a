from django.db import models

from evqc.fields import QuantityField
from evqc.units import kind_named


class Sample(models.Model):
    """A measured sample with quantities of fixed kinds and one whose kind is per row."""

    label = models.CharField(max_length=40)
    concentration = QuantityField("particle_concentration")
    temperature = QuantityField("temperature")
    dilution = QuantityField("dilution_factor")
    reading_kind = models.CharField(max_length=40, default="length")
    reading = QuantityField(lambda sample: kind_named(sample.reading_kind))

    def __str__(self) -> str:
        return self.label
