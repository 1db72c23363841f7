"""Reading upload forms so that every refusal says what was wrong, and file names survive intact.

Werkzeug's defaults answer any form limit (too many fields, an oversized text field) with the same
413 as an oversized file, and silently drop a part whose headers are not UTF-8, which then looks
like "no file was uploaded". Here each gets its own message.
"""

from __future__ import annotations

import hashlib
import re
from typing import IO

from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from socrate.errors import BadRequest, TooLarge

MAX_FORM_PARTS = 100  # a file, a title and a CSRF token need three
# A text field (titles are cut at 500 characters anyway). Werkzeug's default: its parser also applies
# it to the unparsed buffer, which a 64 KB read lands in whole, so it must stay well above that.
MAX_FIELD_BYTES = 500 * 1024
TOO_MANY_PARTS = f"The form is too large: at most {MAX_FORM_PARTS} fields, and text fields up to 500 KB"
UNREADABLE = "The form data could not be read (malformed, or a field or file name not in UTF-8)"
# filename="..." as sent: backslash pairs kept, so a raw Windows path can be told from an escape.
_RAW_FILENAME = re.compile(r'filename="((?:[^"\\]|\\.)*)"')
_RAW_BACKSLASH = re.compile(r'\\[^"\\]')


class _Parser(FormDataParser):
    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[IO[bytes], MultiDict[str, str], MultiDict[str, FileStorage]]:
        try:
            return super().parse(stream, mimetype, content_length, options)
        except RequestEntityTooLarge:
            if content_length is not None and content_length <= (self.max_content_length or content_length):
                raise TooLarge(TOO_MANY_PARTS) from None  # the body fits: a form limit was hit
            raise
        except ValueError as exc:  # UnicodeDecodeError in a part's headers, a broken boundary
            raise BadRequest(UNREADABLE) from exc


class SocrateRequest(Request):
    """Flask's request with strict form parsing (errors raised, not swallowed) and tight form limits."""

    max_form_parts = MAX_FORM_PARTS
    max_form_memory_size = MAX_FIELD_BYTES

    def make_form_data_parser(self) -> FormDataParser:
        return _Parser(
            stream_factory=self._get_file_stream,
            max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length,
            max_form_parts=self.max_form_parts,
            silent=False,
            cls=self.parameter_storage_class,
        )


def client_filename(file: FileStorage) -> str:
    """The name the client gave. Werkzeug reads backslashes in ``filename="..."`` as escapes, but
    browsers that send a whole Windows path send them raw: ``C:\\Users\\me\\report.pdf`` would
    become ``C:Usersmereport.pdf``; the last path component is kept instead."""
    raw = _RAW_FILENAME.search(file.headers.get("Content-Disposition", ""))
    if raw and _RAW_BACKSLASH.search(raw.group(1)):
        return raw.group(1).rsplit("\\", 1)[-1]
    return file.filename or ""


def single_file(files: MultiDict[str, FileStorage]) -> FileStorage:
    """The upload's one file: none, or several (the rest would be silently dropped), is a BadRequest."""
    sent = files.getlist("file")
    if not sent:
        raise BadRequest("No file was uploaded (multipart field 'file')")
    if len(sent) > 1:
        raise BadRequest(f"One file per upload ({len(sent)} were sent): send each in its own request")
    return sent[0]


def single(form: MultiDict[str, str], name: str) -> str | None:
    """A text field sent at most once."""
    values = form.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"The form field {name!r} was sent {len(values)} times; send it once")
    return values[0] if values else None


def digest(stream: IO[bytes]) -> bytes:
    """The SHA-256 of an uploaded file (werkzeug has spooled it), left at its start for the reader after."""
    sha = hashlib.sha256()
    while chunk := stream.read(1024 * 1024):
        sha.update(chunk)
    stream.seek(0)
    return sha.digest()


def page(values: MultiDict[str, str], default_limit: int) -> tuple[int, int]:
    """``?limit=&offset=`` as integers (their ranges are the service's to check)."""
    try:
        return int(values.get("limit", default_limit)), int(values.get("offset", 0))
    except ValueError as exc:
        raise BadRequest("limit and offset must be integers") from exc


def flag(values: MultiDict[str, str], name: str) -> bool:
    """A true/false query parameter (true/false, 1/0, yes/no; absent is false), else BadRequest."""
    raw = values.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise BadRequest(f"{name} must be true or false")
