"""Domain exceptions; adapters map them to HTTP codes (web/errors.py) or chat replies."""


class SocrateError(Exception):
    """Base class: ``message`` is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(SocrateError):
    """The request is malformed or empty."""


class Unauthorized(SocrateError):
    """Missing or invalid credentials."""


class Forbidden(SocrateError):
    """Authenticated, but the request failed a check such as CSRF."""


class NotFound(SocrateError):
    """Unknown object, or one owned by another tenant (never distinguished)."""


class Conflict(SocrateError):
    """The object already exists (an account with this email) or its state forbids the action."""


class Unprocessable(SocrateError):
    """Well-formed, but it contradicts an earlier request (an Idempotency-Key reused for other content)."""


class TooLarge(SocrateError):
    """The file exceeds the per-file limit."""


class QuotaExceeded(SocrateError):
    """The tenant's document-count or stored-bytes quota would be exceeded."""


class UnsupportedType(SocrateError):
    """The file is not an allowed type, by extension or by content."""


class ServiceUnavailable(SocrateError):
    """A dependency (database, broker) is down; nothing was left half-made."""


class DatabaseUnsupported(SocrateError):
    """The database cannot hold Socrate's schema (too old, or pgvector missing); says what to install."""


class ProcessingError(SocrateError):
    """Permanent failure while processing a document (corrupt, encrypted, no text)."""


class RateLimited(SocrateError):
    """Too many requests from one key, session or chat; ``retry_after`` seconds until allowed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
