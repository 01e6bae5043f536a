"""`python manage.py parse_export FILE [--json]`: what an instrument export parses to
(format, version, measurements with units, warnings), without storing anything."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assays.imports import export_json
from evqc.instruments import Export, ExportError, read_export

MAX_LISTED = 20


class Command(BaseCommand):
    help = "Show what an instrument export file parses to; nothing is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, metavar="FILE")
        parser.add_argument("--json", action="store_true", help="everything, as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            export = read_export(path.read_bytes())
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}.") from None
        except ExportError as error:
            raise CommandError(f"{path} {error.message}.") from None
        if options["json"]:
            self.stdout.write(json.dumps(export_json(export), indent=2, ensure_ascii=False))
            return
        self._summary(path, export)

    def _summary(self, path: Path, export: Export) -> None:
        write = self.stdout.write
        write(f"{path}: {export.format} ({export.format_version}), method {export.method}")
        for label, value in (
            ("software", export.software_version),
            ("instrument", export.instrument),
            ("sample", export.sample),
            ("performed", export.performed_at),
            ("dilution recorded in the file", export.instrument_dilution),
            ("dilution suggested by the file's text", export.suggested_dilution),
        ):
            if value not in (None, ""):
                write(f"  {label}: {value}")
        overall = [m for m in export.measurements if m.video is None]
        for measurement in overall[:MAX_LISTED]:
            basis = f" ({measurement.basis})" if measurement.basis else ""
            write(f"  {measurement.attribute}: {measurement.quantity}{basis}")
        per_video = len(export.measurements) - len(overall)
        if per_video:
            write(f"  ... and {per_video} values per video or record")
        for name, value in export.settings.items():
            write(f"  setting {name}: {value}")
        for distribution in export.distributions[:1]:
            write(
                f"  size distribution: {len(distribution.bin_centres)} bins "
                f"({distribution.weighting}, {distribution.value_unit})"
            )
        for flag in export.qc_flags:
            write(f"  QC flag: {flag}")
        for warning in export.warnings:
            self.stderr.write(f"  warning: {warning}")
