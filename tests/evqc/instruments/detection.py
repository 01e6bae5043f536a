"""What the readers' detection tests share: every export file evqc knows of, and a
reader's own look at one, as read_export gives it."""

from __future__ import annotations

from pathlib import Path

from evqc.instruments import decode

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "instrument-samples"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "instruments"


def other_formats_files(own: str) -> list[Path]:
    """Every other reader's files: the shared samples and evqc's fixtures outside the
    folder `own`."""
    roots = [SAMPLES, *[path for path in FIXTURES.iterdir() if path.name != own]]
    files = [path for root in roots if root.is_dir() for path in root.rglob("*")]
    return sorted(path for path in files if path.is_file() and path.name != ".gitattributes")


def detect(reader, data: bytes) -> bool:
    text = decode(data[:65536]) if not data.startswith(b"FCS") else ""
    return reader.detect(text, data)
