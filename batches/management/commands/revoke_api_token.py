"""`python manage.py revoke_api_token NAME --user ADMIN`: stop a token working at once."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.models import ApiToken
from batches.tokens import token_revoke
from evqc.exceptions import EVQCError


class Command(BaseCommand):
    help = "Revoke an API token (kept, for the audit trail, but refused from now on)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--user", required=True, help="the lab admin revoking it")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']}.")
        token = ApiToken.objects.select_related("lab", "user").filter(name=options["name"]).first()
        if token is None:
            raise CommandError(f"There is no API token {options['name']}.")
        try:
            token_revoke(token, acting_user=user)
        except EVQCError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Token {token.name} revoked.")
