"""`python manage.py check_batch LOT [--format text|json]`: a batch's reporting gaps now."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from batches.gaps import batch_check
from batches.models import Batch
from batches.selectors import batch_compliance, batch_gaps


class Command(BaseCommand):
    help = "Check a batch against the guideline catalogues, store and print its gaps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lot_number", metavar="LOT")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = Batch.objects.filter(lot_number=options["lot_number"]).first()
        if batch is None:
            raise CommandError(f"No batch {options['lot_number']}.")
        batch_check(batch.pk)
        gaps, compliance = batch_gaps(batch), batch_compliance(batch)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {"lot_number": batch.lot_number, "compliance": compliance, "gaps": gaps},
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        for check in compliance:
            percent = "n/a" if check["percent"] is None else f"{check['percent']:.0f} %"
            self.stdout.write(
                f"{check['catalogue']}: {percent} ({check['fulfilled']} of {check['applicable']} "
                f"met, {check['gaps']} gaps, {check['warnings']} warnings, "
                f"{check['excepted']} excepted)"
            )
        for gap in gaps:
            missing = "; ".join(gap["missing"])
            self.stdout.write(
                f"{gap['status'].upper():8} {gap['rule_id']}: {gap['title']} [missing: {missing}]"
            )
