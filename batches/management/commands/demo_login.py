"""`python manage.py demo_login`: the login `make run` prints for a local evqc."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = "Create (or give a fresh password to) the local demo login and print it."

    def handle(self, *args: object, **options: object) -> None:
        # A superuser with a printed password has no place on a shared server.
        if not settings.DEBUG:
            raise CommandError("demo_login only runs with DJANGO_DEBUG=True (a local evqc).")
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"first_name": "Demo", "last_name": "Scientist"},
        )
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        self.stdout.write(
            f"evqc demo login: username {DEMO_USERNAME}, password {password}\n"
            "Sign in at http://127.0.0.1:8000/ (the password changes on every `make run`)."
        )
