"""The pure modules on their own: file types and names, text fields, ids, CPU budgets, extraction limits,
form file names and gunicorn's JSON refusals. No servers, no processes: the quick tier's core."""

from __future__ import annotations

import io
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from werkzeug.datastructures import FileStorage, Headers

from socrate import textfields
from socrate.config import Settings
from socrate.db.models import Document
from socrate.documents import lifecycle
from socrate.documents.lifecycle import Status, Transition
from socrate.errors import BadRequest, Conflict, NotFound, ProcessingError, UnsupportedType
from socrate.processing import extract, filetypes
from socrate.processing.budget import Budget, OverBudget, cpu_limit
from socrate.processing.extract import TOO_COMPLEX, extract_text
from socrate.tenancy import canonical_id
from socrate.web.forms import client_filename
from socrate.web.gunicorn_errors import write_json_error
from tests import docgen, hostile

DOC_ID = "0b6f6c9e-8f1e-4a53-9b4e-2d9c6a1f7e10"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("../../etc/passwd.txt", "passwd.txt"), ("C:\\Users\\me\\a.pdf", "a.pdf"), (".hidden.md", "hidden.md"),
     ("\u202ecod.exe\u202c.txt", "cod.exe.txt"), ("a\u2028b.txt", "ab.txt")],
)  # fmt: skip
def test_file_names_lose_folders_and_invisible_characters(raw: str, shown: str) -> None:
    assert filetypes.clean_filename(raw) == shown


def test_long_file_names_keep_their_extension() -> None:
    name = filetypes.clean_filename("n" * 500 + ".docx")
    assert len(name) == filetypes.MAX_FILENAME_CHARS and name.endswith(".docx")


def test_kinds_come_from_the_extension_and_must_match_the_content(tmp_path: Path) -> None:
    assert filetypes.kind_from_name("Report.PDF") == "pdf" and filetypes.kind_from_name("x.markdown") == "md"
    with pytest.raises(UnsupportedType, match="only PDF"):
        filetypes.kind_from_name("payload.exe")
    docx = tmp_path / "a.docx"
    docx.write_bytes(docgen.docx())
    filetypes.confirm_kind("docx", docx.read_bytes()[:2048], lambda: docx)
    for kind, head in [
        ("pdf", b"PK\x03\x04zip"),
        ("txt", b"%PDF-1.7"),
        ("txt", b"a\x00b"),
        ("docx", b"%PDF"),
    ]:
        with pytest.raises(UnsupportedType, match=f".{kind} extension"):
            filetypes.confirm_kind(kind, head, lambda: docx)
    filetypes.confirm_kind("txt", "héllo".encode("utf-16"), lambda: docx)  # NULs are fine after a BOM


def test_text_fields_refuse_control_characters_and_name_the_field() -> None:
    assert textfields.refuse_controls("plain title ✓", "Title") == "plain title ✓"
    for value in ("a\x00b", "line\nbreak", "esc\x1b[31m"):
        with pytest.raises(BadRequest, match="Title must not contain control characters"):
            textfields.refuse_controls(value, "Title")
    assert textfields.shown("  \u202eevil\u202c\u200b name\u2029 ") == "evil name"


@pytest.mark.parametrize("spelled", [DOC_ID, DOC_ID.upper(), DOC_ID.replace("-", ""), "{" + DOC_ID + "}"])
def test_every_spelling_of_an_id_reads_as_the_stored_one(spelled: str) -> None:
    assert canonical_id(Document, spelled) == DOC_ID


@pytest.mark.parametrize("junk", ["", "42", "x" * 36, DOC_ID + "\x00", "../" + DOC_ID])
def test_malformed_ids_are_not_found(junk: str) -> None:
    with pytest.raises(NotFound, match="document not found"):
        canonical_id(Document, junk)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_cpu_limit_interrupts_the_work_inside_it() -> None:
    started = time.process_time()
    with pytest.raises(OverBudget), cpu_limit(0.2):
        try:
            _spin(5)
        except Exception:  # what a library's broad handler would do: it must not swallow the limit
            pytest.fail("OverBudget was caught as an Exception")
    assert time.process_time() - started < 1.0
    with cpu_limit(1.0):
        _spin(0.05)  # within budget: nothing happens, and the timer is off afterwards
    _spin(1.2)


def test_a_budget_is_shared_by_its_steps() -> None:
    budget = Budget(0.3)
    with budget.step(at_most=1.0):
        _spin(0.2)
    with pytest.raises(OverBudget), budget.step(at_most=1.0):
        _spin(1.0)  # only ~0.1 s of the whole was left
    budget.extend(5)
    with budget.step(at_most=0.5):
        _spin(0.1)


@pytest.mark.parametrize(
    ("make", "reason"),
    [(lambda: hostile.pdf_shared_content(operators=400_000), TOO_COMPLEX),
     (hostile.pdf_compression_bomb, "compression bomb"), (hostile.docx_zip_bomb, "expands to"),
     (lambda: docgen.pdf(pages=1, encrypt="pw"), "password-protected"),
     (lambda: b"%PDF-1.4\n" + b"\x13garbage" * 500, "corrupt")],
    ids=["shared content stream", "PDF compression bomb", "DOCX zip bomb", "encrypted", "corrupt"],
)  # fmt: skip
def test_hostile_files_fail_extraction_with_a_reason(tmp_path: Path, make, reason: str) -> None:
    data = make()
    kind = "docx" if data.startswith(b"PK") else "pdf"
    path = tmp_path / f"file.{kind}"
    path.write_bytes(data)
    with pytest.raises(ProcessingError, match=reason):
        extract_text(path, kind, Settings())


def test_a_whole_pdf_budget_stops_pages_that_are_each_within_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shared.pdf"
    path.write_bytes(hostile.pdf_shared_content(pages=24, operators=30_000))  # ~0.4 s a page
    monkeypatch.setattr(extract, "PDF_BASE_CPU_SECONDS", 0.5)
    settings = Settings(pdf_page_cpu_seconds=5.0, pdf_cpu_seconds_per_page=0.05)  # whole PDF: 1.7 s
    started = time.process_time()
    with pytest.raises(ProcessingError, match=TOO_COMPLEX):
        extract_text(path, "pdf", settings)
    assert time.process_time() - started < 4


def _file(disposition: str) -> FileStorage:
    return FileStorage(filename="glued", headers=Headers({"Content-Disposition": disposition}))


def test_a_raw_windows_path_keeps_its_last_part_and_escapes_stay_escapes() -> None:
    assert (
        client_filename(_file('form-data; name="file"; filename="C:\\Users\\me\\report.pdf"')) == "report.pdf"
    )
    assert client_filename(_file('form-data; name="file"; filename="a\\"b.txt"')) == "glued"
    assert client_filename(_file('form-data; name="file"; filename="plain.txt"')) == "glued"


@pytest.mark.parametrize(("code", "says"), [(414, "request line is too long"), (431, "headers are too large"),
                                            (400, "Bad Request: Invalid Method")])  # fmt: skip
def test_gunicorn_refusals_are_written_as_json(code: int, says: str) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        write_json_error(ours, code, "Reason" if code != 400 else "Bad Request", "Invalid Method 'X'")
        ours.shutdown(socket.SHUT_WR)
        head, _, body = theirs.recv(65536).partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {code} ".encode()) and b"application/json" in head
    assert says in json.loads(body)["error"]


@pytest.mark.parametrize("megabytes", [0.15, 1.5, 12])
def test_large_files_pass_the_form_limits_that_refuse_large_text_fields(megabytes: float) -> None:
    """The text-field limit also bounds the parser's buffer: it must never catch a file being read."""
    from werkzeug.test import EnvironBuilder

    from socrate.web.forms import SocrateRequest

    body = {"file": (io.BytesIO(b"word " * int(megabytes * 1024 * 1024 / 5)), "big.txt"), "title": "t"}
    request = SocrateRequest(EnvironBuilder(method="POST", data=body).get_environ())
    assert request.files["file"].filename == "big.txt" and request.form["title"] == "t"


def _row(status: str) -> Document:
    return Document(status=status)


@pytest.mark.parametrize(
    ("transition", "allowed"),
    [(Transition.CLAIM, {"queued", "processing"}), (Transition.READY, {"processing"}),
     (Transition.FAIL, {"queued", "processing"}), (Transition.CANCEL, {"queued", "processing"}),
     (Transition.RETRY, {"failed", "cancelled"}), (Transition.REQUEUE, set(Status))],
)  # fmt: skip
def test_each_transition_starts_only_from_its_statuses(transition: Transition, allowed: set[str]) -> None:
    for status in Status:
        assert lifecycle.is_legal(transition, status) == (status in allowed), (transition, status)


def test_an_illegal_transition_changes_nothing_and_says_why() -> None:
    doc = _row(Status.READY)
    with pytest.raises(
        Conflict, match=r"Only queued or processing documents can be cancelled \(this one is ready\)"
    ):
        lifecycle.apply(doc, Transition.CANCEL, lifecycle.cancelled(datetime.now(UTC)))
    assert doc.status == Status.READY and cast("str | None", doc.task_state) is None  # default set at flush
    with pytest.raises(Conflict, match="Only failed or cancelled documents can be retried"):
        lifecycle.require(_row(Status.PROCESSING), Transition.RETRY)


def test_a_status_never_travels_without_its_task_state_message_and_time() -> None:
    now = datetime.now(UTC)
    doc = _row(Status.PROCESSING)
    lifecycle.apply(doc, Transition.FAIL, lifecycle.failed("The PDF is password-protected", now))
    assert (doc.status, doc.task_state, doc.message) == ("failed", "FAILURE", "Failed")
    assert doc.error_message == doc.last_error == "The PDF is password-protected" and doc.completed_at == now
    lifecycle.apply(doc, Transition.REQUEUE, lifecycle.queued("task-2", "Queued again", now))
    # mypy keeps the narrowing from the assert above across apply(), which cleared both fields.
    assert (doc.status, doc.progress, doc.task_id, doc.error_message, doc.completed_at) == (  # type: ignore[comparison-overlap]
        "queued", 0, "task-2", None, None)  # fmt: skip
    lifecycle.apply(doc, Transition.CLAIM, lifecycle.claimed("worker@host", now))
    assert (doc.status, doc.progress, doc.worker, doc.heartbeat_at) == ("processing", 10, "worker@host", now)
