"""`python manage.py export_batch LOT`: a batch record out, to standard output."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.selectors import batch_record_for_lot
from evqc.batch_record import batch_record_json
from evqc.exceptions import NotFound


class Command(BaseCommand):
    help = "Write the batch record (docs/batch-record.md) of a batch to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lot_number", metavar="LOT")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            batch_record = batch_record_for_lot(options["lot_number"])
        except NotFound as error:
            raise CommandError(error.message) from None
        document = batch_record_json(batch_record)
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
