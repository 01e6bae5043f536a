"""Send each finished instrument export in a folder to evqc, once.

Runs on the instrument PC (NanoSight, ZetaView, plate reader ...) and watches the folder
the instrument software exports into:

    set EVQC_TOKEN=...
    python uploader.py watch D:\\Exports --url https://evqc.example.org --instrument NS300

Standard library only, and nothing of Django or the rest of evqc: copying this one file
next to a bare Python 3.11 is the whole installation. The folder is polled rather than
watched through file-system events, which network shares and Windows do not deliver
reliably.

A file is sent when it has stopped changing, to `POST /api/v1/imports/` with an
Idempotency-Key made from its SHA-256 and lot, so a retry after a lost answer (even from
a restarted uploader) is answered with the first answer instead of importing twice. What
was sent is remembered by SHA-256 in DIR/.evqc-uploader/state.json.
"""

from __future__ import annotations

import argparse
import contextlib
import email.message
import fnmatch
import functools
import hashlib
import http.client
import json
import logging
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, NoReturn

log = logging.getLogger("evqc.uploader")

IMPORTS_PATH = "/api/v1/imports/"
STATE_DIR = ".evqc-uploader"
STATE_FILE = "state.json"
STATE_VERSION = 1
MAX_KEY_LENGTH = 255
USER_AGENT = "evqc-uploader/1"

# What instrument software, Office and Windows leave beside exports while writing them.
IGNORED_NAMES = ("~$*", "*.tmp", "*.part", ".*", "thumbs.db", "desktop.ini")
# "Not now" answers: the same request may succeed later, so it is retried with the same key.
RETRY_LATER = frozenset({408, 409, 423, 429})
# Answers that concern every request, not this file: bad token, wrong URL.
NOT_THE_FILE = frozenset({401, 403})
# The server is not there or asks to slow down: sending the other files now only waits longer.
STOP_SENDING = frozenset({429, 502, 503, 504})
JOB_DONE = frozenset({"succeeded", "failed"})
# What urllib raises when no HTTP answer arrived (URLError and socket timeouts are OSErrors;
# a connection dropped mid-answer raises http.client's own errors).
NETWORK_ERRORS = (OSError, http.client.HTTPException)

EXIT_OK = 0
EXIT_UNDELIVERED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Outcome(StrEnum):
    """What became of one file in one scan."""

    UPLOADED = "uploaded"  # the server accepted it (now or before): recorded
    REFUSED = "refused"  # a 4xx about the file: recorded, not sent again
    RETRY = "retry"  # not delivered: sent again at the next scan, with the same key
    STOP = "stop"  # as RETRY, and no other file is sent in this scan


class StateError(Exception):
    pass


def idempotency_key(sha256: str, lot: str) -> str:
    """The same file for the same lot always gets the same key, even from a restarted
    uploader. The lot is percent-encoded: the server accepts visible ASCII only."""
    return f"evqc-upload-{sha256}-{urllib.parse.quote(lot, safe='')}"[:MAX_KEY_LENGTH]


def is_ignored(name: str) -> bool:
    """Temporary, lock and hidden files are never exports (case-insensitive, as on Windows)."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in IGNORED_NAMES)


def multipart(fields: Mapping[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body (RFC 7578) with `fields` and the file as `file`; returns
    the body and its Content-Type. The file name is sent as UTF-8, as browsers do."""
    boundary = f"evqc-{uuid.uuid4().hex}"
    while boundary.encode() in content:
        boundary = f"evqc-{uuid.uuid4().hex}"
    quoted = file_name.replace("\\", "\\\\").replace('"', '\\"')
    quoted = quoted.replace("\r", "%0D").replace("\n", "%0A")
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def describe(error: BaseException) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# HTTP
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, whatever its status."""

    status: int
    headers: email.message.Message
    body: bytes

    def data(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def replayed(self) -> bool:
        return str(self.headers.get("Idempotent-Replayed", "")).lower() == "true"

    def message(self) -> str:
        """evqc's error message and code, or the start of a body that is not evqc's JSON
        (a proxy's error page)."""
        data = self.data()
        if isinstance(data, dict) and "message" in data:
            text = f"{data['message']} ({data.get('code', 'no code')})"
            extra = data.get("extra")
            if isinstance(extra, dict) and extra.get("fields"):
                text += f"; fields: {json.dumps(extra['fields'], ensure_ascii=False)}"
            return text
        return self.body[:200].decode(errors="replace").strip() or "(no body)"

    def problem(self) -> str:
        if 200 <= self.status < 300:
            return f"HTTP {self.status} without an import job: {self.message()}"
        return f"HTTP {self.status}: {self.message()}"

    def retry_after(self) -> float | None:
        try:
            return float(self.headers.get("Retry-After", ""))
        except ValueError:
            return None  # absent, or an HTTP date: the backoff decides


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the upload into a GET, or carry the token to another host:
    it is reported as the 3xx it is instead."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None


class Api:
    """evqc's imports endpoint: returns every HTTP answer, raises NETWORK_ERRORS."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.opener = urllib.request.build_opener(NoRedirect)

    def send_import(
        self, *, file_name: str, content: bytes, lot: str, instrument: str, key: str
    ) -> Reply:
        body, content_type = multipart(
            {"lot_number": lot, "instrument": instrument}, file_name, content
        )
        request = urllib.request.Request(  # noqa: S310 (main() allows http and https only)
            self.url + IMPORTS_PATH,
            data=body,
            method="POST",
            headers={**self.headers(), "Content-Type": content_type, "Idempotency-Key": key},
        )
        return self.open(request)

    def get(self, url: str) -> Reply:
        return self.open(urllib.request.Request(url, headers=self.headers()))  # noqa: S310

    def job_url(self, url: str) -> str:
        """The job's address on --url's scheme and host: the token goes only where --url
        points (a proxy that hides https from evqc would make it answer with http://)."""
        base = urllib.parse.urlsplit(self.url)
        job = urllib.parse.urlsplit(urllib.parse.urljoin(self.url + "/", url))
        return urllib.parse.urlunsplit((base.scheme, base.netloc, job.path, job.query, ""))

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def open(self, request: urllib.request.Request) -> Reply:
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())


# State
# ------------------------------------------------------------------------------


class State:
    """What was sent, by SHA-256, kept on disk so that a restart does not send it again.

    {"version": 1, "files": {sha256: {"path", "lot", "status": "uploaded"|"refused",
    "http_status", "job_url" (uploaded) or "message" (refused), "time"}}}
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = self.load()

    def load(self) -> dict[str, dict[str, Any]]:
        # An unreadable state is an error, not an empty state: starting afresh would send
        # every file in the folder again.
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise StateError(f"cannot read {self.path}: {error}") from error
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise StateError(f"{self.path} is not an evqc uploader state file")
        files: dict[str, dict[str, Any]] = data["files"]
        return files

    def get(self, sha256: str) -> dict[str, Any] | None:
        return self.files.get(sha256)

    def record(self, sha256: str, **entry: Any) -> None:
        self.files[sha256] = {**entry, "time": now_iso()}
        text = json.dumps({"version": STATE_VERSION, "files": self.files}, indent=1)
        try:
            write_atomically(self.path, text)
        except OSError as error:
            # Kept in memory: this process does not send it again. A restarted one would,
            # with the same key, and the server would answer with its first answer.
            log.error("could not save %s: %s", self.path, describe(error))  # noqa: TRY400


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename over it: a crash or Ctrl-C leaves the old file
    or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# Uploader
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """A file as read for sending: what is sent and what its SHA-256 says are the same."""

    name: str  # relative to the watched folder, with /
    lot: str
    content: bytes = field(repr=False)

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def __str__(self) -> str:
        return f"{self.name} (lot {self.lot}, sha256 {self.sha256[:12]})"


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int
    since: float  # time.monotonic() of the first look at this size and mtime


class Uploader:
    """Watches one export folder and sends each finished file to evqc once."""

    def __init__(
        self,
        folder: Path,
        api: Api,
        *,
        instrument: str,
        lot: str | None = None,
        settle: float = 2.0,
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_cap: float = 60.0,
        wait: bool = False,
        wait_timeout: float = 600.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.folder = folder
        self.api = api
        self.instrument = instrument
        self.lot = lot
        self.settle = settle
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.state = State(folder / STATE_DIR / STATE_FILE)
        self.seen: dict[Path, Seen] = {}
        self.digests: dict[Path, tuple[int, int, str]] = {}
        self.said: set[tuple[str, ...]] = set()

    def watch(self, interval: float) -> NoReturn:
        while True:
            try:
                self.scan()
            except Exception:
                # A service on an instrument PC that dies quietly is worse than one that
                # logs the same error every few seconds.
                log.exception("scan of %s failed", self.folder)
            self.sleep(interval)

    def run_once(self) -> int:
        """Look, wait `settle` seconds, look again and send what did not change (for cron
        and tests). Returns how many finished files could not be delivered."""
        self.scan()
        self.sleep(self.settle)
        return self.scan()

    def scan(self) -> int:
        """Look at the folder once and send every new file that has settled. Returns how
        many could not be delivered (they are tried again at the next scan)."""
        if not self.folder.is_dir():
            self.say_once(("folder",), logging.WARNING, "%s is not reachable", self.folder)
            return 0
        self.said.discard(("folder",))
        new = self.new_files(self.finished_files())
        undelivered = 0
        for position, (path, lot) in enumerate(new):
            outcome = self.upload(path, lot)
            if outcome is Outcome.STOP:
                if left := len(new) - position - 1:
                    log.warning("%d more files wait for the next scan", left)
                return undelivered + 1 + left
            undelivered += outcome is Outcome.RETRY
        return undelivered

    def finished_files(self) -> list[Path]:
        """Non-empty files whose size and modification time have not changed for `settle`
        seconds, as seen by this uploader's own looks."""
        now = time.monotonic()
        seen: dict[Path, Seen] = {}
        finished = []
        for path in self.export_files():
            try:
                stat = path.stat()
            except OSError:
                continue  # deleted or renamed since the folder was listed
            before = self.seen.get(path)
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
            if before is None or (before.size, before.mtime_ns) != (size, mtime_ns):
                seen[path] = Seen(size, mtime_ns, now)
                continue
            seen[path] = before
            if size > 0 and now - before.since >= self.settle:
                finished.append(path)
        self.seen = seen
        self.digests = {path: known for path, known in self.digests.items() if path in seen}
        return finished

    def export_files(self) -> list[Path]:
        """Files under the folder, except ignored ones and hidden folders (such as this
        uploader's own state folder)."""
        found: list[Path] = []
        for root, folders, names in os.walk(self.folder):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            found.extend(Path(root, name) for name in names if not is_ignored(name))
        return sorted(found)

    def new_files(self, finished: list[Path]) -> list[tuple[Path, str]]:
        """The finished files that have a lot and content not sent before, with their lot."""
        new = []
        for path in finished:
            name = self.name_of(path)
            lot = self.lot_of(path)
            if lot is None:
                self.say_once(
                    ("no lot", name),
                    logging.WARNING,
                    "skipped %s: it is directly in %s and no --lot was given; put it in a "
                    "sub-folder named after its lot",
                    name,
                    self.folder,
                )
                continue
            try:
                sha256 = self.digest(path)
            except OSError as error:
                self.say_once(
                    ("unreadable", name, str(error)),
                    logging.WARNING,
                    "cannot read %s yet: %s",
                    name,
                    describe(error),
                )
                continue
            known = self.state.get(sha256)
            if known is None:
                new.append((path, lot))
            elif known.get("path") != name:
                self.say_once(
                    ("copy", name, sha256),
                    logging.INFO,
                    "not sending %s: same content as %s (sha256 %s, %s for lot %s)",
                    name,
                    known.get("path"),
                    sha256[:12],
                    known.get("status"),
                    known.get("lot"),
                )
        return new

    def upload(self, path: Path, lot: str) -> Outcome:
        """Send one file and record the answer. Network errors, 5xx and "not now" answers
        are retried with backoff and the same Idempotency-Key, so that a request the server
        received before the connection dropped is answered, not imported again."""
        try:
            export = Export(self.name_of(path), lot, path.read_bytes())
        except OSError as error:
            log.warning("cannot read %s: %s", self.name_of(path), describe(error))
            return Outcome.RETRY
        if (known := self.state.get(export.sha256)) is not None:
            return Outcome(known["status"])  # it changed back to content already sent
        key = idempotency_key(export.sha256, lot)
        problem, stop = "", False
        for attempt in range(1, self.max_attempts + 1):
            try:
                reply = self.api.send_import(
                    file_name=path.name,
                    content=export.content,
                    lot=lot,
                    instrument=self.instrument,
                    key=key,
                )
            except NETWORK_ERRORS as error:
                problem, stop, retry_after = describe(error), True, None
            else:
                if (outcome := self.answered(export, reply)) is not None:
                    return outcome
                problem, stop = reply.problem(), reply.status in STOP_SENDING
                retry_after = reply.retry_after()
            if attempt < self.max_attempts:
                self.back_off(export, attempt, problem, retry_after)
        log.error(
            "not sent %s (%s, attempt %d of %d); it is sent again at the next scan, with the "
            "same Idempotency-Key",
            export,
            problem,
            self.max_attempts,
            self.max_attempts,
        )
        return Outcome.STOP if stop else Outcome.RETRY

    def answered(self, export: Export, reply: Reply) -> Outcome | None:
        """What a final answer means for the file; None for one worth retrying."""
        job = reply.data()
        if 200 <= reply.status < 300 and isinstance(job, dict) and job.get("url"):
            return self.uploaded(export, reply, job)
        if reply.status in NOT_THE_FILE or 300 <= reply.status < 400:
            log.error(
                "not sent %s: HTTP %d: %s; check --url and the token",
                export,
                reply.status,
                reply.message(),
            )
            return Outcome.STOP
        if 400 <= reply.status < 500 and reply.status not in RETRY_LATER:
            return self.refused(export, reply)
        return None

    def uploaded(self, export: Export, reply: Reply, job: dict[str, Any]) -> Outcome:
        job_url = str(job["url"])
        self.state.record(
            export.sha256,
            path=export.name,
            lot=export.lot,
            status="uploaded",
            http_status=reply.status,
            job_url=job_url,
        )
        log.info(
            "uploaded %s: HTTP %d, job %s (%s)%s",
            export,
            reply.status,
            job_url,
            job.get("status"),
            replay_note(reply),
        )
        if self.wait:
            self.follow(job_url)
        return Outcome.UPLOADED

    def refused(self, export: Export, reply: Reply) -> Outcome:
        message = reply.message()
        self.state.record(
            export.sha256,
            path=export.name,
            lot=export.lot,
            status="refused",
            http_status=reply.status,
            message=message,
        )
        log.error(
            "refused %s: HTTP %d: %s%s; not sent again unless its content changes",
            export,
            reply.status,
            message,
            replay_note(reply),
        )
        return Outcome.REFUSED

    def back_off(
        self, export: Export, attempt: int, problem: str, retry_after: float | None
    ) -> None:
        delay = self.delay(attempt, retry_after)
        log.warning(
            "sending %s failed (attempt %d of %d: %s); retrying in %.1f s with the same "
            "Idempotency-Key",
            export,
            attempt,
            self.max_attempts,
            problem,
            delay,
        )
        self.sleep(delay)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """backoff, 2x, 4x ... up to backoff_cap; a longer Retry-After wins, capped too."""
        delay = self.backoff * 2.0 ** (attempt - 1)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.backoff_cap)

    def follow(self, job_url: str) -> str | None:
        """Poll an import job until it succeeded or failed, or wait_timeout passed; log its
        status as it changes, then its warnings and errors. Returns the last status seen."""
        url = self.api.job_url(job_url)
        deadline = time.monotonic() + self.wait_timeout
        status: str | None = None
        while True:
            try:
                reply = self.api.get(url)
            except NETWORK_ERRORS as error:
                log.warning("job %s: %s", url, describe(error))
            else:
                job = reply.data()
                if reply.status != 200 or not isinstance(job, dict):
                    log.warning("job %s: HTTP %d: %s", url, reply.status, reply.message())
                    if 400 <= reply.status < 500 and reply.status not in RETRY_LATER:
                        return status
                elif (current := str(job.get("status"))) != status:
                    status = current
                    log.info("job %s: %s (%s%%)", url, status, job.get("progress"))
                    if status in JOB_DONE:
                        log_outcome(url, job)
                        return status
            if time.monotonic() >= deadline:
                log.warning("job %s: still %s after %.0f s", url, status, self.wait_timeout)
                return status
            self.sleep(self.poll_interval)

    def digest(self, path: Path) -> str:
        """The file's SHA-256, read again only when its size or modification time changed."""
        seen = self.seen[path]
        known = self.digests.get(path)
        if known is not None and known[:2] == (seen.size, seen.mtime_ns):
            return known[2]
        with path.open("rb") as file:
            sha256 = hashlib.file_digest(file, "sha256").hexdigest()
        self.digests[path] = (seen.size, seen.mtime_ns, sha256)
        return sha256

    def lot_of(self, path: Path) -> str | None:
        """--lot for every file, else the sub-folder directly under the watched one holding
        the file (DIR/<LOT>/export.csv, DIR/<LOT>/run 2/export.csv)."""
        if self.lot:
            return self.lot
        parts = path.relative_to(self.folder).parts
        return parts[0] if len(parts) > 1 else None

    def name_of(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def say_once(self, key: tuple[str, ...], level: int, message: str, *args: object) -> None:
        """Log a condition that lasts across scans once, not every few seconds."""
        if key not in self.said:
            self.said.add(key)
            log.log(level, message, *args)


def replay_note(reply: Reply) -> str:
    if reply.replayed:
        return " [Idempotent-Replayed: true: the server had received this upload before]"
    return ""


def log_outcome(url: str, job: dict[str, Any]) -> None:
    for warning in job.get("warnings") or []:
        log.warning("job %s warning: %s", url, warning)
    for error in job.get("errors") or []:
        if isinstance(error, dict) and "message" in error:
            error = f"{error['message']} ({error.get('code', 'no code')})"
        log.error("job %s error: %s", url, error)


# Command line
# ------------------------------------------------------------------------------

EPILOG = """\
The token: prefer the environment variable EVQC_TOKEN to --token, which every user of
the PC can read in the process list. It needs the results:write scope.

Lot: --lot for every file, or else the sub-folder directly under DIR that holds the file
(DIR/<LOT>/export.csv). A file directly in DIR without --lot is skipped.

A file is sent once it is non-empty and its size and modification time have not changed
for --settle seconds. Ignored: ~$*, *.tmp, *.part, hidden files and folders (.*),
Thumbs.db, desktop.ini. Each content (SHA-256) is sent once; what was sent or refused is
kept in DIR/.evqc-uploader/state.json (delete an entry to send that file again).

Network errors, HTTP 5xx, 408, 409, 423 and 429 are retried with exponential backoff
(1 s, 2 s, 4 s ... up to 60 s, at most --max-attempts times per scan), always with the
same Idempotency-Key, so a retry never imports twice. Other 4xx answers refuse the file:
it is not sent again until its content changes. 401 and 403 (the token) and redirects
(the URL) refuse nothing: the scan stops and is tried again later.

Exit status (--once): 0 when every finished file was delivered (uploaded or refused),
1 when some file could not be delivered and a later run will try again, 2 for a usage
error, 130 after Ctrl-C. HTTPS certificates are checked; for a lab's own certificate
authority, set SSL_CERT_FILE.
"""


def seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds")
    return value


def attempts(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    watch = commands.add_parser(
        "watch",
        help="watch a folder and upload each finished export file once",
        description="Watch DIR, the folder the instrument software exports into, and upload\n"
        "each finished export file to evqc once.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument("folder", metavar="DIR", type=Path, help="the folder to watch")
    watch.add_argument(
        "--url", required=True, help="evqc's address, e.g. https://evqc.example.org"
    )
    watch.add_argument(
        "--token",
        help="evqc API token; better: set EVQC_TOKEN (a command line shows in the process list)",
    )
    watch.add_argument(
        "--instrument", required=True, metavar="NAME", help="this instrument's name in evqc"
    )
    watch.add_argument("--lot", help="the lot number of every file (default: from sub-folders)")
    watch.add_argument(
        "--interval", type=seconds, default=5.0, metavar="SECONDS", help="between scans (5)"
    )
    watch.add_argument(
        "--settle",
        type=seconds,
        default=2.0,
        metavar="SECONDS",
        help="how long a file must stay unchanged before it is sent (2)",
    )
    watch.add_argument(
        "--once", action="store_true", help="scan, upload what is finished, and exit (for cron)"
    )
    watch.add_argument(
        "--wait", action="store_true", help="follow each import job until it succeeded or failed"
    )
    watch.add_argument(
        "--wait-timeout",
        type=seconds,
        default=600.0,
        metavar="SECONDS",
        help="how long --wait follows one job (600)",
    )
    watch.add_argument(
        "--timeout", type=seconds, default=60.0, metavar="SECONDS", help="per HTTP request (60)"
    )
    watch.add_argument(
        "--max-attempts",
        type=attempts,
        default=5,
        metavar="N",
        help="attempts per file and scan before it waits for the next scan (5)",
    )
    watch.add_argument("--log", type=Path, metavar="FILE", help="also log to FILE")
    return parser


def start_logging(log_file: Path | None) -> list[logging.Handler]:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handlers


def stop_logging(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        log.removeHandler(handler)
        handler.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("EVQC_TOKEN", "")
    if not token:
        parser.error("no token: set EVQC_TOKEN (or pass --token)")
    url = urllib.parse.urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.netloc:
        parser.error(f"--url must be an http:// or https:// address, not {args.url!r}")
    try:
        handlers = start_logging(args.log)
    except OSError as error:
        parser.error(f"cannot open the --log file: {error}")
    try:
        if not args.folder.is_dir():
            log.error("%s is not a folder", args.folder)
            return EXIT_USAGE
        if url.scheme == "http" and url.hostname not in ("localhost", "127.0.0.1", "::1"):
            log.warning("%s is not https: the token crosses the network unencrypted", args.url)
        try:
            uploader = Uploader(
                args.folder,
                Api(args.url, token, timeout=args.timeout),
                instrument=args.instrument,
                lot=args.lot,
                settle=args.settle,
                max_attempts=args.max_attempts,
                wait=args.wait,
                wait_timeout=args.wait_timeout,
            )
        except StateError as error:
            log.error("%s; fix it or move it away", error)  # noqa: TRY400 (no traceback)
            return EXIT_USAGE
        log.info(
            "watching %s for %s (lot %s), sending to %s",
            args.folder,
            args.instrument,
            args.lot or "from sub-folders",
            args.url,
        )
        if args.once:
            return EXIT_UNDELIVERED if uploader.run_once() else EXIT_OK
        uploader.watch(args.interval)
    except KeyboardInterrupt:
        log.info("stopped")
        return EXIT_INTERRUPTED
    finally:
        stop_logging(handlers)


if __name__ == "__main__":
    sys.exit(main())
