"""`python manage.py import_batch FILE... --lab CODE --user NAME`: batch records in."""

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.models import Lab
from batches.services import BatchRecordImporter
from evqc.exceptions import EVQCError

NO_LAB = "There is no lab {code}."
NO_USER = "There is no user {name}."
WHICH_LAB = "{name} is a member of {count} labs; say which with --lab."
NOT_JSON = "{file}: not JSON ({error})."


class Command(BaseCommand):
    help = (
        "Import batch-record files (docs/batch-record.md). Each file is imported whole or "
        "not at all; errors name the file and the JSON path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument("--user", required=True, help="who imports (recorded as such)")
        parser.add_argument("--lab", help="the lab's code (needed if the user has several)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(NO_USER.format(name=options["user"]))
        lab = self._lab(user, options["lab"])
        failed, readable = 0, []
        for path in options["files"]:
            try:
                readable.append((path, json.loads(path.read_bytes())))
            except (OSError, ValueError) as error:
                self.stderr.write(NOT_JSON.format(file=path, error=error))
                failed += 1
        importer = BatchRecordImporter(lab=lab, acting_user=user)
        outcomes = importer.import_records(document for _, document in readable)
        for (path, _), outcome in zip(readable, outcomes, strict=True):
            if isinstance(outcome, EVQCError):
                failed += 1
                self._report(path, outcome)
            else:
                self.stdout.write(f"{path}: imported batch {outcome.lot_number}.")
        if failed:
            raise CommandError(f"{failed} of {len(options['files'])} files were not imported.")

    def _report(self, path: Path, error: EVQCError) -> None:
        self.stderr.write(f"{path}: not imported.")
        fields = error.extra.get("fields") or {"": [{"message": error.message}]}
        for field, problems in fields.items():
            for problem in problems:
                where = f"{field}: " if field else ""
                self.stderr.write(f"  {where}{problem['message']}")

    def _lab(self, user: Any, code: str | None) -> Lab:
        labs = Lab.objects.filter(memberships__user=user)
        if code:
            lab = Lab.objects.filter(code=code).first()
            if lab is None:
                raise CommandError(NO_LAB.format(code=code))
            return lab
        if labs.count() != 1:
            raise CommandError(WHICH_LAB.format(name=user.get_username(), count=labs.count()))
        return labs.get()
