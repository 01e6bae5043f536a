import ast
import errno
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evqc import uploader
from evqc.uploader import Api, Uploader, main

TOKEN = "evqc-test-token"
INSTRUMENT = "NanoSight NS300"
SETTLE = 0.15
IMPORTS = "/api/v1/imports/"
UNREADABLE = "The file is not an export evqc can read."
LOT_REQUIRED = "lot_number is required."
IN_FLIGHT = "A request with this Idempotency-Key is still being processed."
EXPORT = b"Sample,Concentration (particles/mL)\nEV-1,2.1e8\n"


# A fake evqc: the imports contract over real HTTP
# ------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None
    content: bytes | None = None


class FakeEvqc(ThreadingHTTPServer):
    """evqc's `/api/v1/imports/` as the uploader sees it: multipart uploads with a bearer
    token, the first answer replayed for a repeated Idempotency-Key, jobs that advance on
    every GET, and failures on demand through `script`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ImportsHandler)
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.jobs: list[dict[str, Any]] = []  # one per import actually made
        self.kept: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> its first 202 body
        # How to answer the next POSTs, one item each: an HTTP status to answer with
        # instead of importing, or "drop": import, then close without answering.
        self.script: list[int | str] = []
        self.job_statuses = ["queued"]  # what the 1st, 2nd ... GET of a job reports
        self.job_warnings: list[str] = []
        self.job_errors: list[dict[str, str]] = []
        self.origin = self.url  # where job URLs point (a proxy may change it)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def posts(self) -> list[Received]:
        return [request for request in self.requests if request.method == "POST"]

    def gets(self) -> list[Received]:
        return [request for request in self.requests if request.method == "GET"]

    def create_job(self, fields: dict[str, str], file_name: str, content: bytes) -> dict[str, Any]:
        number = len(self.jobs) + 1
        job = {
            "id": number,
            "url": f"{self.origin}{IMPORTS}{number}/",
            "status": "queued",
            "progress": 0,
            "lot_number": fields["lot_number"],
            "file_name": file_name,
            "file_sha256": sha256(content).hexdigest(),
            "warnings": [],
            "errors": [],
        }
        self.jobs.append(job)
        return job

    def job_as_polled(self, number: int) -> dict[str, Any]:
        polls = sum(request.path == f"{IMPORTS}{number}/" for request in self.gets())
        status = self.job_statuses[min(polls, len(self.job_statuses)) - 1]
        job = {**self.jobs[number - 1], "status": status}
        if status in ("succeeded", "failed"):
            job.update(progress=100, warnings=self.job_warnings, errors=self.job_errors)
        return job


def error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "code": code, "extra": {}}


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], str | None, bytes]:
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields, file_name, content = {}, None, b""
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        if part.get_filename() is None:
            fields[part.get_param("name", header="content-disposition")] = payload.decode()
        else:
            file_name, content = part.get_filename(), payload
    return fields, file_name, content


class ImportsHandler(BaseHTTPRequestHandler):
    server: FakeEvqc

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fields, file_name, content = parse_multipart(self.headers.get("Content-Type", ""), body)
        with fake.lock:
            fake.requests.append(self.received(fields, file_name, content))
            scripted = fake.script.pop(0) if fake.script else None
            if scripted == 409:
                return self.answer(409, error(IN_FLIGHT, "conflict"))
            if isinstance(scripted, int):
                return self.answer(scripted, b"<h1>Server Error</h1>", "text/html")
            if self.path != IMPORTS or file_name is None:
                return self.answer(404, error("Not found.", "not_found"))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.answer(401, error("Invalid token.", "authentication_failed"))
            key = self.headers.get("Idempotency-Key", "")
            if key in fake.kept:
                return self.answer(202, fake.kept[key], replayed=True)
            if not fields.get("lot_number"):
                return self.answer(400, error(LOT_REQUIRED, "required"))
            if content.startswith(b"BROKEN"):
                return self.answer(400, error(UNREADABLE, "unreadable_file"))
            job = fake.create_job(fields, file_name, content)
            if key:
                fake.kept[key] = dict(job)
            if scripted == "drop":
                self.close_connection = True  # imported, but the answer never leaves
                return None
            return self.answer(202, job)

    def do_GET(self) -> None:
        fake = self.server
        with fake.lock:
            fake.requests.append(self.received())
            found = re.fullmatch(rf"{IMPORTS}(\d+)/", self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.answer(401, error("Invalid token.", "authentication_failed"))
            if found is None or int(found[1]) > len(fake.jobs):
                return self.answer(404, error("Not found.", "not_found"))
            return self.answer(200, fake.job_as_polled(int(found[1])))

    def received(
        self,
        fields: dict[str, str] | None = None,
        file_name: str | None = None,
        content: bytes | None = None,
    ) -> Received:
        headers = {name.lower(): value for name, value in self.headers.items()}
        return Received(self.command, self.path, headers, fields or {}, file_name, content)

    def answer(
        self,
        status: int,
        body: dict[str, Any] | bytes,
        content_type: str = "application/json",
        *,
        replayed: bool = False,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def evqc_server():
    server = FakeEvqc()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _environment(monkeypatch, caplog):
    # A developer's proxy must not see the test traffic, nor their token reach main().
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.delenv("EVQC_TOKEN", raising=False)
    caplog.set_level(logging.INFO, logger="evqc.uploader")


def uploader_for(folder: Path, server: FakeEvqc, token: str = TOKEN, **options: Any) -> Uploader:
    options = {"settle": SETTLE, "backoff": 0.01, "poll_interval": 0.01, **options}
    return Uploader(folder, Api(server.url, token, timeout=5), instrument=INSTRUMENT, **options)


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / ".evqc-uploader" / "state.json").read_text(encoding="utf-8"))


def key_of(content: bytes, lot: str) -> str:
    return f"evqc-upload-{sha256(content).hexdigest()}-{lot}"


def what(name: str, lot: str, content: bytes) -> str:
    return f"{name} (lot {lot}, sha256 {sha256(content).hexdigest()[:12]})"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Finding finished files
# ------------------------------------------------------------------------------


def test_a_finished_file_is_uploaded_once_with_its_lot_instrument_and_headers(
    tmp_path, evqc_server, caplog
):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    digest = sha256(EXPORT).hexdigest()

    # when
    undelivered = uploader_for(tmp_path, evqc_server).run_once()

    # then
    [post] = evqc_server.posts()
    assert post.path == IMPORTS
    assert post.fields == {"lot_number": "LOT-1", "instrument": INSTRUMENT}
    assert (post.file_name, post.content) == ("export.csv", EXPORT)
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["idempotency-key"] == f"evqc-upload-{digest}-LOT-1"
    assert post.headers["accept"] == "application/json"
    assert post.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert undelivered == 0
    [job] = evqc_server.jobs
    state = read_state(tmp_path)
    entry = state["files"][digest]
    recorded_at = datetime.fromisoformat(entry.pop("time"))
    assert timedelta(0) <= datetime.now(UTC) - recorded_at < timedelta(minutes=1)
    assert state == {
        "version": 1,
        "files": {
            digest: {
                "path": "LOT-1/export.csv",
                "lot": "LOT-1",
                "status": "uploaded",
                "http_status": 202,
                "job_url": job["url"],
            }
        },
    }
    assert os.listdir(tmp_path / ".evqc-uploader") == ["state.json"]  # no temporary left
    assert (
        f"uploaded {what('LOT-1/export.csv', 'LOT-1', EXPORT)}: HTTP 202, job {job['url']} "
        "(queued)"
    ) in caplog.messages


def test_a_second_scan_and_a_restarted_uploader_do_not_send_a_file_again(tmp_path, evqc_server):
    # given: a file uploaded by a first uploader
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    first = uploader_for(tmp_path, evqc_server)
    first.run_once()

    # when: the same uploader scans again, and a new one starts on the same folder, where
    # a new file has appeared meanwhile
    first.scan()
    write(tmp_path / "LOT-1" / "export-2.csv", EXPORT + b"EV-2,3.0e8\n")
    uploader_for(tmp_path, evqc_server).run_once()

    # then: only the new file was sent
    assert [post.file_name for post in evqc_server.posts()] == ["export.csv", "export-2.csv"]


def test_a_file_still_being_written_is_not_uploaded_until_it_has_settled(tmp_path, evqc_server):
    # given: a first look at a file that is then written to
    settle = 0.3
    path = write(tmp_path / "LOT-1" / "export.csv", b"Sample,Size\n")
    watching = uploader_for(tmp_path, evqc_server, settle=settle)
    watching.scan()
    time.sleep(settle)
    with path.open("ab") as file:
        file.write(b"EV-1,98.4\n")

    # when / then: a look that sees it changed, and one that sees it unchanged for less than
    # `settle`, send nothing
    watching.scan()
    assert evqc_server.posts() == []
    watching.scan()
    assert evqc_server.posts() == []

    # when / then: unchanged for `settle`, it is sent as it is now
    time.sleep(settle)
    watching.scan()
    [post] = evqc_server.posts()
    assert post.content == b"Sample,Size\nEV-1,98.4\n"


def test_temporary_lock_hidden_and_empty_files_are_not_sent(tmp_path, evqc_server):
    # given
    lot = tmp_path / "LOT-1"
    for number, name in enumerate(
        [
            "~$report.xlsx",
            "export.TMP",
            "export.csv.part",
            ".export.csv",
            ".hidden/export.csv",
            "Thumbs.db",
        ]
    ):
        write(lot / name, b"content %d" % number)
    write(lot / "empty.csv", b"")
    write(lot / "export.csv", EXPORT)

    # when
    uploader_for(tmp_path, evqc_server).run_once()

    # then
    assert [post.file_name for post in evqc_server.posts()] == ["export.csv"]


def test_the_same_content_under_another_name_is_not_sent_again(tmp_path, evqc_server, caplog):
    # given: a file that was uploaded, then copied under another name
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    watching = uploader_for(tmp_path, evqc_server)
    watching.run_once()
    write(tmp_path / "LOT-1" / "export (copy).csv", EXPORT)

    # when
    watching.run_once()
    watching.scan()

    # then: not sent, and said once
    assert len(evqc_server.posts()) == 1
    said = (
        f"not sending LOT-1/export (copy).csv: same content as LOT-1/export.csv "
        f"(sha256 {sha256(EXPORT).hexdigest()[:12]}, uploaded for lot LOT-1)"
    )
    assert caplog.messages.count(said) == 1


# Lots
# ------------------------------------------------------------------------------


def test_the_lot_is_the_sub_folder_directly_under_the_watched_folder(tmp_path, evqc_server):
    # given
    write(tmp_path / "LOT-A" / "a.csv", b"a")
    write(tmp_path / "LOT-B" / "run 2" / "b.csv", b"b")

    # when
    uploader_for(tmp_path, evqc_server).run_once()

    # then
    sent = {post.file_name: post.fields["lot_number"] for post in evqc_server.posts()}
    assert sent == {"a.csv": "LOT-A", "b.csv": "LOT-B"}


def test_the_lot_option_is_the_lot_of_every_file(tmp_path, evqc_server):
    # given
    write(tmp_path / "a.csv", b"a")
    write(tmp_path / "LOT-B" / "b.csv", b"b")

    # when
    uploader_for(tmp_path, evqc_server, lot="EV-2026-09").run_once()

    # then
    sent = {post.file_name: post.fields["lot_number"] for post in evqc_server.posts()}
    assert sent == {"a.csv": "EV-2026-09", "b.csv": "EV-2026-09"}
    assert {post.headers["idempotency-key"] for post in evqc_server.posts()} == {
        key_of(b"a", "EV-2026-09"),
        key_of(b"b", "EV-2026-09"),
    }


def test_a_file_directly_in_the_folder_without_lot_is_skipped_with_one_log_line(
    tmp_path, evqc_server, caplog
):
    # given
    write(tmp_path / "loose.csv", b"loose")
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    watching = uploader_for(tmp_path, evqc_server)

    # when
    watching.run_once()
    watching.run_once()

    # then
    assert [post.file_name for post in evqc_server.posts()] == ["export.csv"]
    said = [message for message in caplog.messages if "loose.csv" in message]
    assert said == [
        f"skipped loose.csv: it is directly in {tmp_path} and no --lot was given; put it in "
        "a sub-folder named after its lot"
    ]


def test_non_ascii_names_arrive_intact_and_the_key_stays_ascii(tmp_path, evqc_server):
    # given
    write(tmp_path / "Lot µ-7" / "Probe µ.csv", EXPORT)

    # when
    uploader_for(tmp_path, evqc_server).run_once()

    # then
    [post] = evqc_server.posts()
    assert (post.file_name, post.fields["lot_number"]) == ("Probe µ.csv", "Lot µ-7")
    assert post.headers["idempotency-key"] == key_of(EXPORT, "Lot%20%C2%B5-7")


# Failures and retries
# ------------------------------------------------------------------------------


def test_a_lost_answer_is_retried_with_the_same_key_and_imported_once(
    tmp_path, evqc_server, caplog
):
    # given: the server imports the first request but its answer is lost
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    evqc_server.script = ["drop"]

    # when
    undelivered = uploader_for(tmp_path, evqc_server).run_once()

    # then
    posts = evqc_server.posts()
    assert [post.headers["idempotency-key"] for post in posts] == [key_of(EXPORT, "LOT-1")] * 2
    [job] = evqc_server.jobs
    assert read_state(tmp_path)["files"][job["file_sha256"]]["job_url"] == job["url"]
    assert undelivered == 0
    assert (
        f"uploaded {what('LOT-1/export.csv', 'LOT-1', EXPORT)}: HTTP 202, job {job['url']} "
        "(queued) [Idempotent-Replayed: true: the server had received this upload before]"
    ) in caplog.messages


# 200: an answer that is not evqc's job (a captive portal's page) is not taken as uploaded.
@pytest.mark.parametrize("failures", [[500, 500], [409], [503], [200]])
def test_server_errors_and_not_now_answers_are_retried_with_the_same_key(
    tmp_path, evqc_server, caplog, failures
):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    evqc_server.script = list(failures)

    # when
    undelivered = uploader_for(tmp_path, evqc_server).run_once()

    # then
    keys = [post.headers["idempotency-key"] for post in evqc_server.posts()]
    assert keys == [key_of(EXPORT, "LOT-1")] * (len(failures) + 1)
    assert len(evqc_server.jobs) == 1
    assert undelivered == 0
    retried = [message for message in caplog.messages if "retrying" in message]
    assert [message.split("attempt ")[1][:6] for message in retried] == [
        f"{attempt} of 5" for attempt in range(1, len(failures) + 1)
    ]
    assert f"(attempt 1 of 5: HTTP {failures[0]}" in retried[0]


def test_after_max_attempts_a_file_waits_for_the_next_scan_and_keeps_its_key(
    tmp_path, evqc_server, caplog
):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    evqc_server.script = [500, 500, 500]
    watching = uploader_for(tmp_path, evqc_server, max_attempts=2)

    # when / then: two attempts, then the file is left for the next scan
    assert watching.run_once() == 1
    assert len(evqc_server.posts()) == 2
    assert not (tmp_path / ".evqc-uploader" / "state.json").exists()
    assert caplog.messages[-1] == (
        f"not sent {what('LOT-1/export.csv', 'LOT-1', EXPORT)} (HTTP 500: <h1>Server Error</h1>, "
        "attempt 2 of 2); it is sent again at the next scan, with the same Idempotency-Key"
    )

    # when / then: the next scan gets it through, with the same key
    assert watching.scan() == 0
    keys = [post.headers["idempotency-key"] for post in evqc_server.posts()]
    assert keys == [key_of(EXPORT, "LOT-1")] * 4
    assert len(evqc_server.jobs) == 1


def test_an_unavailable_server_stops_the_scan_and_the_files_wait(tmp_path, evqc_server):
    # given
    write(tmp_path / "LOT-1" / "a.csv", b"a")
    write(tmp_path / "LOT-1" / "b.csv", b"b")
    evqc_server.script = [503, 503]
    watching = uploader_for(tmp_path, evqc_server, max_attempts=2)

    # when / then: b.csv is not tried after a.csv found the server unavailable
    assert watching.run_once() == 2
    assert [post.file_name for post in evqc_server.posts()] == ["a.csv", "a.csv"]

    # when / then
    assert watching.scan() == 0
    assert [job["file_name"] for job in evqc_server.jobs] == ["a.csv", "b.csv"]


def test_a_refused_file_is_remembered_and_sent_again_only_once_its_content_changes(
    tmp_path, evqc_server, caplog
):
    # given
    broken = b"BROKEN export"
    path = write(tmp_path / "LOT-1" / "export.csv", broken)
    watching = uploader_for(tmp_path, evqc_server)

    # when: refused once, then scanned again by this and a restarted uploader
    assert watching.run_once() == 0
    watching.scan()
    uploader_for(tmp_path, evqc_server).run_once()

    # then: sent once, never retried, and remembered as refused
    assert len(evqc_server.posts()) == 1
    assert evqc_server.jobs == []
    entry = read_state(tmp_path)["files"][sha256(broken).hexdigest()]
    assert (entry["status"], entry["http_status"]) == ("refused", 400)
    assert entry["message"] == f"{UNREADABLE} (unreadable_file)"
    assert (
        f"refused {what('LOT-1/export.csv', 'LOT-1', broken)}: HTTP 400: {UNREADABLE} "
        "(unreadable_file); not sent again unless its content changes"
    ) in caplog.messages

    # when: the instrument exports the file again, readable this time
    path.write_bytes(EXPORT)
    watching.run_once()

    # then
    assert [post.content for post in evqc_server.posts()] == [broken, EXPORT]
    assert evqc_server.posts()[1].headers["idempotency-key"] == key_of(EXPORT, "LOT-1")
    assert [job["file_sha256"] for job in evqc_server.jobs] == [sha256(EXPORT).hexdigest()]


def test_a_refused_token_refuses_no_file_and_stops_the_scan(tmp_path, evqc_server, caplog):
    # given
    write(tmp_path / "LOT-1" / "a.csv", b"a")
    write(tmp_path / "LOT-1" / "b.csv", b"b")

    # when
    undelivered = uploader_for(tmp_path, evqc_server, token="revoked").run_once()

    # then: nothing remembered, so the right token sends both
    assert undelivered == 2
    assert len(evqc_server.posts()) == 1
    assert not (tmp_path / ".evqc-uploader" / "state.json").exists()
    assert (
        f"not sent {what('LOT-1/a.csv', 'LOT-1', b'a')}: HTTP 401: Invalid token. "
        "(authentication_failed); check --url and the token"
    ) in caplog.messages
    assert uploader_for(tmp_path, evqc_server).run_once() == 0
    assert len(evqc_server.jobs) == 2


# Following the import job
# ------------------------------------------------------------------------------


def test_wait_follows_the_job_until_it_succeeded(tmp_path, evqc_server, caplog):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    evqc_server.job_statuses = ["queued", "running", "running", "succeeded"]
    evqc_server.job_warnings = ["The dilution factor was taken from the file."]

    # when
    uploader_for(tmp_path, evqc_server, wait=True).run_once()

    # then
    [job] = evqc_server.jobs
    gets = evqc_server.gets()
    assert [get.path for get in gets] == [f"{IMPORTS}1/"] * 4
    assert {get.headers["authorization"] for get in gets} == {f"Bearer {TOKEN}"}
    url = job["url"]
    assert [message for message in caplog.messages if message.startswith("job ")] == [
        f"job {url}: queued (0%)",
        f"job {url}: running (0%)",
        f"job {url}: succeeded (100%)",
        f"job {url} warning: The dilution factor was taken from the file.",
    ]


def test_wait_logs_the_errors_of_a_failed_job(tmp_path, evqc_server, caplog):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    evqc_server.job_statuses = ["failed"]
    evqc_server.job_errors = [{"message": "No size distribution in the file.", "code": "invalid"}]

    # when
    uploader_for(tmp_path, evqc_server, wait=True).run_once()

    # then
    url = evqc_server.jobs[0]["url"]
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert errors == [f"job {url} error: No size distribution in the file. (invalid)"]


def test_wait_asks_for_the_job_where_url_points_even_if_the_server_names_another_host(
    tmp_path, evqc_server
):
    # given: behind a proxy, evqc names its jobs on an address the uploader must not use
    evqc_server.origin = "http://evqc.invalid"
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    evqc_server.job_statuses = ["succeeded"]

    # when
    uploader_for(tmp_path, evqc_server, wait=True, wait_timeout=1).run_once()

    # then
    assert [get.path for get in evqc_server.gets()] == [f"{IMPORTS}1/"]


# The command
# ------------------------------------------------------------------------------


def watch_args(folder: Path, url: str, *options: str) -> list[str]:
    return ["watch", str(folder), "--url", url, "--instrument", INSTRUMENT, *options]


def test_main_once_uploads_exits_0_and_a_second_run_sends_nothing(
    tmp_path, evqc_server, monkeypatch
):
    # given
    monkeypatch.setenv("EVQC_TOKEN", TOKEN)
    folder = tmp_path / "exports"
    write(folder / "LOT-1" / "export.csv", EXPORT)
    log_file = tmp_path / "uploader.log"
    args = watch_args(folder, evqc_server.url, "--once", "--settle", "0.1", "--log", str(log_file))

    # when
    first, second = main(args), main(args)

    # then
    assert (first, second) == (0, 0)
    [post] = evqc_server.posts()
    assert (post.fields["lot_number"], post.content) == ("LOT-1", EXPORT)
    assert f"uploaded {what('LOT-1/export.csv', 'LOT-1', EXPORT)}" in log_file.read_text("utf-8")


def test_main_once_exits_1_when_evqc_cannot_be_reached(tmp_path, caplog):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    url = f"http://127.0.0.1:{closed_port()}"

    # when
    code = main(
        watch_args(
            tmp_path, url, "--token", TOKEN, "--once", "--settle", "0.1", "--max-attempts", "1"
        )
    )

    # then
    assert code == 1
    assert not (tmp_path / ".evqc-uploader" / "state.json").exists()
    assert caplog.messages[-1] == (
        f"not sent {what('LOT-1/export.csv', 'LOT-1', EXPORT)} (ConnectionRefusedError: "
        f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}, attempt 1 of 1); "
        "it is sent again at the next scan, with the same Idempotency-Key"
    )


def test_main_needs_a_token(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(watch_args(tmp_path, "http://127.0.0.1:9", "--once"))

    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith("error: no token: set EVQC_TOKEN (or pass --token)\n")


def test_main_refuses_an_unreadable_state_rather_than_send_everything_again(
    tmp_path, evqc_server, caplog
):
    # given
    write(tmp_path / "LOT-1" / "export.csv", EXPORT)
    write(tmp_path / ".evqc-uploader" / "state.json", b'{"files": {')

    # when
    code = main(watch_args(tmp_path, evqc_server.url, "--token", TOKEN, "--once"))

    # then
    assert code == 2
    assert evqc_server.posts() == []
    assert caplog.messages[-1].startswith(f"cannot read {tmp_path / '.evqc-uploader'}")


# The single file on a bare Python
# ------------------------------------------------------------------------------


def test_the_uploader_imports_the_standard_library_only():
    tree = ast.parse(Path(uploader.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or ".")  # a relative import is evqc's own: not allowed
    assert "urllib.request" in imported
    assert {name.split(".")[0] for name in imported} <= sys.stdlib_module_names


def bare_python(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """Run a copy of the single file with no site-packages, as on an instrument PC."""
    copy = shutil.copy(uploader.__file__, tmp_path / "uploader.py")
    return subprocess.Popen(  # noqa: S603 (our own interpreter and file)
        [sys.executable, "-I", "-S", str(copy), *args],
        env={**os.environ, "EVQC_TOKEN": TOKEN},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_copy_of_the_file_runs_on_a_bare_python(tmp_path, evqc_server):
    # given
    folder = tmp_path / "exports"
    write(folder / "LOT-1" / "export.csv", EXPORT)

    # when
    process = bare_python(
        tmp_path, *watch_args(folder, evqc_server.url, "--once", "--settle", "0.1")
    )
    _, stderr = process.communicate(timeout=30)

    # then
    assert process.returncode == 0, stderr
    assert [job["file_sha256"] for job in evqc_server.jobs] == [sha256(EXPORT).hexdigest()]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is how POSIX sends Ctrl-C")
def test_ctrl_c_stops_the_watch_cleanly(tmp_path, evqc_server):
    # given: a watching uploader that has sent a file
    folder = tmp_path / "exports"
    write(folder / "LOT-1" / "export.csv", EXPORT)
    process = bare_python(
        tmp_path, *watch_args(folder, evqc_server.url, "--interval", "0.1", "--settle", "0.1")
    )
    deadline = time.monotonic() + 30
    while not evqc_server.jobs and time.monotonic() < deadline:
        time.sleep(0.05)

    # when
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)

    # then
    assert evqc_server.jobs
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.rstrip().endswith("INFO stopped")
