"""`python manage.py check_all`: re-check every batch's reporting gaps now, with progress."""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from batches.gaps import sweep_check_chunk, sweep_start
from batches.models import CheckSweep

BAR = 30


class Command(BaseCommand):
    help = "Check every batch against the guideline catalogues (what the nightly sweep does)."

    def handle(self, *args: Any, **options: Any) -> None:
        sweep, chunks = sweep_start()
        for chunk in chunks:
            sweep_check_chunk(sweep.pk, chunk)
            self._progress(CheckSweep.objects.get(pk=sweep.pk))
        sweep.refresh_from_db()
        if sys.stderr.isatty():
            self.stderr.write("")
        self.stdout.write(
            f"Checked {sweep.checked} of {sweep.total} batches; {sweep.failed} failed."
        )
        for failure in sweep.failures:
            self.stderr.write(f"  batch {failure['batch']}: {failure['error']}")

    def _progress(self, sweep: CheckSweep) -> None:
        done = sweep.checked + sweep.failed
        filled = BAR * done // max(sweep.total, 1)
        bar = "#" * filled + "." * (BAR - filled)
        self.stderr.write(f"\r[{bar}] {done}/{sweep.total}", ending="")
        self.stderr.flush()
