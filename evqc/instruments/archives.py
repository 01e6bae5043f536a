"""Export files sent compressed (zip or gzip): unpacked with a cap on what comes out, so
a small archive that expands to gigabytes (an archive bomb) is refused after reading at
most `limit` bytes, whatever its headers claim. One export file per upload: an archive
of many files, an archive inside an archive, or an encrypted one is refused too.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from typing import IO

from evqc.instruments import ExportError

CHUNK = 2**20
IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db")

TOO_LARGE = "unpacks to more than {limit} MB; upload the export file itself"
SEVERAL = "holds {count} files ({names}); upload one export file at a time"
EMPTY = "is an archive without a file in it"
NESTED = "holds another archive; upload the export file itself"
ENCRYPTED = "is an encrypted zip archive; evqc cannot read it"
BROKEN = "is a damaged {kind} archive: {reason}"
OTHER = "is a {kind} archive, which evqc does not unpack; upload the export file (or a zip)"


class ArchiveTooLarge(ExportError):
    def __init__(self, limit: int) -> None:
        super().__init__(TOO_LARGE.format(limit=limit // 2**20), "archive_too_large")


def is_archive(data: bytes) -> bool:
    return _kind(data) is not None


def unpack(data: bytes, name: str, *, limit: int) -> tuple[bytes, str]:
    """The export file inside a zip or gzip archive and its name; anything else as is.
    At most `limit` bytes are ever unpacked."""
    kind = _kind(data)
    if kind is None:
        return data, name
    if kind == "zip":
        inner, inner_name = _unzip(data, limit)
    elif kind == "gzip":
        inner, inner_name = _gunzip(data, limit), name.removesuffix(".gz")
    else:
        raise ExportError(OTHER.format(kind=kind), "unsupported_archive")
    if _kind(inner) is not None:
        raise ExportError(NESTED, "nested_archive")
    return inner, inner_name


def _kind(data: bytes) -> str | None:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "zip"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if data.startswith((b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"BZh", b"\xfd7zXZ\x00")):
        return {b"7z": "7z", b"Ra": "RAR", b"BZ": "bzip2", b"\xfd7": "xz"}[data[:2]]
    if data[257:262] == b"ustar":
        return "tar"
    return None


def _unzip(data: bytes, limit: int) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not any(part in info.filename for part in IGNORED)
        ]
        if not members:
            raise ExportError(EMPTY, "empty_archive")
        if len(members) > 1:
            names = ", ".join(info.filename for info in members[:5])
            raise ExportError(SEVERAL.format(count=len(members), names=names), "several_files")
        (member,) = members
        if member.flag_bits & 0x1:
            raise ExportError(ENCRYPTED, "encrypted_archive")
        if member.file_size > limit:
            raise ArchiveTooLarge(limit)
        with archive.open(member) as stream:
            return _read_capped(stream, limit), member.filename.rsplit("/", 1)[-1]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise ExportError(BROKEN.format(kind="zip", reason=error), "damaged_archive") from None


def _gunzip(data: bytes, limit: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return _read_capped(stream, limit)
    except (OSError, zlib.error, EOFError) as error:
        raise ExportError(BROKEN.format(kind="gzip", reason=error), "damaged_archive") from None


def _read_capped(stream: IO[bytes] | gzip.GzipFile, limit: int) -> bytes:
    out = bytearray()
    while chunk := stream.read(CHUNK):
        out += chunk
        if len(out) > limit:
            raise ArchiveTooLarge(limit)
    return bytes(out)
