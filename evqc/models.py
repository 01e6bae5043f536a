"""Abstract models shared by evqc's apps (evqc itself has no tables)."""

from django.db import models


class TimeStampedModel(models.Model):
    """When a row was first stored and last changed (the audit trail says by whom)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
