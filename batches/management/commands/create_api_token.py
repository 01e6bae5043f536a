"""`python manage.py create_api_token NAME --scope SCOPE --lab CODE --user ADMIN
[--instrument NAME]`: a token for an instrument or a script, printed once."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.models import Lab
from batches.tokens import token_create
from evqc.exceptions import EVQCError
from evqc.vocabulary import TokenScope


class Command(BaseCommand):
    help = (
        "Create an API token. results:write posts assay runs and export files for one "
        "instrument; read reads the lab's data; admin may do what a lab admin may. The key "
        "is printed once and stored only as a hash: copy it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="a name people recognise, e.g. nta-lab2")
        parser.add_argument("--scope", required=True, choices=[s.value for s in TokenScope])
        parser.add_argument("--lab", required=True, help="the code of the token's one lab")
        parser.add_argument("--user", required=True, help="the lab admin creating it")
        parser.add_argument(
            "--instrument", default="", help="the lab's instrument (results:write only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['user']}.")
        lab = Lab.objects.filter(code=options["lab"]).first()
        if lab is None:
            raise CommandError(f"There is no lab {options['lab']}.")
        try:
            created = token_create(
                lab,
                name=options["name"],
                scope=options["scope"],
                acting_user=user,
                instrument_name=options["instrument"],
            )
        except EVQCError as error:
            raise CommandError(error.message) from None
        self.stderr.write(
            f"Token {created.token.name} ({created.token.scope}, lab {lab.code}) created. "
            "Copy the key now: evqc stores only its hash and cannot show it again."
        )
        self.stdout.write(created.key)
