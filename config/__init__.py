"""The evqc Django project: settings, URLs, the API router and the Celery app."""

from .celery_app import app as celery_app

__all__ = ("celery_app",)
