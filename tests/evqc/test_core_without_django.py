import os
import subprocess
import sys
from pathlib import Path

CORE_MODULES = [
    "evqc.units",
    "evqc.vocabulary",
    "evqc.markers",
    "evqc.specs",
    "evqc.distributions",
    "evqc.batch_record",
    "evqc.derived",
    "evqc.guidelines",
    "evqc.guidelines.catalogue_misev2018",
    "evqc.instruments",
    "evqc.instruments.nanosight",
    "evqc.instruments.zetasizer",
    "evqc.instruments.fcs",
    "evqc.instruments.gen5",
    "evqc.instruments.softmax",
    "evqc.instruments.zetaview",
    "evqc.instruments.archives",
    "evqc.uploader",
    "evqc.plots",
    "evqc.control_charts",
]


def test_the_core_imports_and_works_without_django_settings():
    # given: a Python with no Django settings at all
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO")}
    script = (
        f"import {', '.join(CORE_MODULES)}, sys\n"
        "from evqc.batch_record import parse_batch_record\n"
        "record = parse_batch_record({'schema': 'evqc.batch-record/1', 'lot_number': 'EV-1',"
        " 'product': {'code': 'P', 'name': 'P'}, 'storage': {'temperature': '-80 °C'}})\n"
        "print(record.storage.temperature.canonical_value)\n"
        "print(any(name.startswith(('django', 'batches', 'assays')) for name in sys.modules))\n"
    )

    # when
    finished = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    # then: it reads a record, and nothing of Django or the apps was loaded
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["-80.0", "False"]
