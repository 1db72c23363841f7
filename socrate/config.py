"""One Settings object built from environment variables, with defaults for the embedded run."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

MB = 1024 * 1024


SQLITE_GONE = (
    "DATABASE_URL points at SQLite, which Socrate no longer supports: leave DATABASE_URL unset to use "
    "the embedded PostgreSQL under SOCRATE_DATA_DIR, or set it to a PostgreSQL (15 or newer, with pgvector)"
)


def normalise_database_url(url: str) -> str:
    """Accept Railway/Heroku style ``postgres://`` URLs, which SQLAlchemy 2 rejects."""
    if url.startswith("sqlite"):
        raise ValueError(SQLITE_GONE)
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def keep_files_private() -> None:
    """Everything this process creates from now on is for its own user only (files 0600, folders
    0700): stored documents, indexes, temporary copies, the Beat schedule, Redis' dump."""
    os.umask(0o077)


def _bool_or_auto(env: dict[str, str], name: str) -> bool | None:
    """``true``/``false`` (also 1/0, yes/no), or None for unset / ``auto``."""
    raw = env.get(name, "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true, false or auto, not {raw!r}")


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of: {', '.join(a for a in allowed if a)} (got {value!r})")
    return value


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; docs/configuration.md lists every variable."""

    data_dir: Path = Path("data")
    database_url: str = ""  # empty: the embedded PostgreSQL under data_dir (socrate/db/embedded.py)
    redis_url: str = ""
    storage_dir: Path = Path("data/storage")
    secret_key: str = "dev-insecure-change-me"
    max_upload_bytes: int = 50 * MB
    default_max_documents: int = 500
    default_max_concurrent: int = 1  # below the worker's children: one tenant never holds every slot
    default_max_bytes: int = 2048 * MB
    chunk_tokens: int = 1200
    chunk_overlap: int = 200
    task_time_limit: int = 3600
    task_soft_time_limit: int = 3300
    worker_max_tasks_per_child: int = 200
    cleanup_interval_seconds: int = 3600
    recover_interval_seconds: int = 30
    stuck_after_seconds: int = 600
    lease_seconds: int = 45
    failed_retention_days: int = 30
    max_pdf_pages: int = 2000
    pdf_page_cpu_seconds: float = 2.0  # CPU time any one PDF page may take to read
    pdf_cpu_seconds_per_page: float = 0.25  # a whole PDF: 10 s + this per page
    max_docx_uncompressed_bytes: int = 200 * MB
    max_text_chars: int = 5_000_000
    max_image_pixels: int = 60_000_000  # a bigger canvas is refused before decoding (decompression bombs)
    ocr_page_seconds: float = 120.0  # wall time Tesseract may spend on one page
    ocr_languages: str = "eng+ita"  # Tesseract's -l when the text layer does not tell the language
    allow_loopback_urls: bool = False  # tests only: links and webhooks may reach 127.0.0.1
    url_fetch_timeout_seconds: float = 30.0
    webhook_timeout_seconds: float = 10.0  # one delivery attempt, connect to last byte
    webhook_retry_base_seconds: float = 5.0  # the first retry's wait; it doubles each time
    webhook_retry_max_seconds: float = 3600.0  # the longest wait between two attempts
    webhook_retry_window_seconds: float = (
        86400.0  # how long a delivery is retried before the endpoint is disabled
    )
    webhook_sweep_seconds: float = (
        5.0  # Beat sends due retries (and deliveries whose message was lost) this often
    )
    webhook_endpoint_concurrency: int = 2  # attempts in flight per endpoint: a slow receiver holds no more
    webhook_max_endpoints: int = 10  # per tenant
    idempotency_hours: float = 24.0  # how long an Idempotency-Key's first answer is replayed
    rate_limit_per_minute: int = 600
    login_failures_per_15_minutes: int = 10
    signups_per_hour_per_address: int = 10
    upload_limit_per_minute: int = 60
    trusted_proxy_hops: int = 0  # proxies in front whose X-Forwarded-For/-Proto are believed (Railway: 1)
    session_days: int = 14  # a dashboard log-in lasts this long (server-side; log-out ends it sooner)
    session_cookie_secure: bool | None = None  # None: Secure exactly when the request came over HTTPS
    storage_backend: str = "local"  # local | s3
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None  # None: AWS itself
    s3_region: str = "us-east-1"
    s3_addressing_style: str = ""  # path | virtual | auto; empty: path with S3_ENDPOINT_URL, else auto
    storage_cache_dir: Path = Path("data/storage-cache")
    storage_cache_mb: int = 1024
    telegram_bot_token: str = ""
    telegram_bot_username: str = ""  # for t.me deep links on the dashboard; the bot itself asks getMe
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str = ""  # empty: long polling
    telegram_webhook_secret: str = ""
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = 8443
    telegram_link_code_minutes: int = 15
    telegram_edit_interval_seconds: float = 2.0
    telegram_messages_per_minute: int = 30
    metrics_token: str = ""  # unset: /metrics answers 404
    llm_base_url: str = ""  # empty: Ask answers with the best passage's sentences ("passages" mode)
    llm_api_key: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 30.0
    llm_max_tokens: int = 700
    llm_tenant_daily_tokens: int = 200_000  # 0: no daily budget
    log_format: str = "kv"  # kv | json
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); the only place env is read."""
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("SOCRATE_DATA_DIR", "data")).resolve()
        return cls(
            data_dir=data_dir,
            database_url=normalise_database_url(env.get("DATABASE_URL", "").strip()),
            redis_url=env.get("REDIS_URL", ""),
            storage_dir=Path(env.get("STORAGE_DIR") or data_dir / "storage").resolve(),
            secret_key=env.get("SECRET_KEY", cls.secret_key),
            max_upload_bytes=_int(env, "MAX_UPLOAD_MB", 50) * MB,
            default_max_documents=_int(env, "TENANT_MAX_DOCUMENTS", 500),
            default_max_concurrent=_int(env, "TENANT_MAX_CONCURRENT", 1),
            default_max_bytes=_int(env, "TENANT_MAX_MB", 2048) * MB,
            chunk_tokens=_int(env, "CHUNK_TOKENS", 1200),
            chunk_overlap=_int(env, "CHUNK_OVERLAP", 200),
            task_time_limit=_int(env, "TASK_TIME_LIMIT", 3600),
            task_soft_time_limit=_int(env, "TASK_SOFT_TIME_LIMIT", 3300),
            worker_max_tasks_per_child=_int(env, "WORKER_MAX_TASKS_PER_CHILD", 200),
            cleanup_interval_seconds=_int(env, "CLEANUP_INTERVAL_SECONDS", 3600),
            recover_interval_seconds=_int(env, "RECOVER_INTERVAL_SECONDS", 30),
            stuck_after_seconds=_int(env, "STUCK_AFTER_SECONDS", 600),
            lease_seconds=_int(env, "LEASE_SECONDS", 45),
            failed_retention_days=_int(env, "FAILED_RETENTION_DAYS", 30),
            max_pdf_pages=_int(env, "MAX_PDF_PAGES", 2000),
            pdf_page_cpu_seconds=float(env.get("PDF_PAGE_CPU_SECONDS") or 2.0),
            pdf_cpu_seconds_per_page=float(env.get("PDF_CPU_SECONDS_PER_PAGE") or 0.25),
            max_docx_uncompressed_bytes=_int(env, "MAX_DOCX_UNCOMPRESSED_MB", 200) * MB,
            max_text_chars=_int(env, "MAX_TEXT_CHARS", 5_000_000),
            max_image_pixels=_int(env, "MAX_IMAGE_MEGAPIXELS", 60) * 1_000_000,
            ocr_page_seconds=float(env.get("OCR_PAGE_SECONDS") or 120.0),
            ocr_languages=env.get("OCR_LANGUAGES", "").strip() or cls.ocr_languages,
            allow_loopback_urls=env.get("ALLOW_LOOPBACK_URLS", "").strip().lower() in {"1", "true", "yes"},
            url_fetch_timeout_seconds=float(env.get("URL_FETCH_TIMEOUT_SECONDS") or 30.0),
            webhook_timeout_seconds=float(env.get("WEBHOOK_TIMEOUT_SECONDS") or 10.0),
            webhook_retry_base_seconds=float(env.get("WEBHOOK_RETRY_BASE_SECONDS") or 5.0),
            webhook_retry_max_seconds=float(env.get("WEBHOOK_RETRY_MAX_SECONDS") or 3600.0),
            webhook_retry_window_seconds=float(env.get("WEBHOOK_RETRY_WINDOW_SECONDS") or 86400.0),
            webhook_sweep_seconds=float(env.get("WEBHOOK_SWEEP_SECONDS") or 5.0),
            webhook_endpoint_concurrency=_int(env, "WEBHOOK_ENDPOINT_CONCURRENCY", 2),
            webhook_max_endpoints=_int(env, "WEBHOOK_MAX_ENDPOINTS", 10),
            idempotency_hours=float(env.get("IDEMPOTENCY_HOURS") or 24.0),
            rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 600),
            upload_limit_per_minute=_int(env, "UPLOAD_LIMIT_PER_MINUTE", 60),
            session_days=_int(env, "SESSION_DAYS", 14),
            session_cookie_secure=_bool_or_auto(env, "SESSION_COOKIE_SECURE"),
            trusted_proxy_hops=_int(env, "TRUSTED_PROXY_HOPS", 0),
            login_failures_per_15_minutes=_int(env, "LOGIN_FAILURES_PER_15_MINUTES", 10),
            signups_per_hour_per_address=_int(env, "SIGNUPS_PER_HOUR_PER_ADDRESS", 10),
            storage_backend=env.get("STORAGE_BACKEND", "").strip().lower() or "local",
            s3_bucket=env.get("S3_BUCKET", ""),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            s3_region=env.get("S3_REGION") or "us-east-1",
            s3_addressing_style=_choice(env, "S3_ADDRESSING_STYLE", ("", "auto", "path", "virtual")),
            storage_cache_dir=Path(env.get("STORAGE_CACHE_DIR") or data_dir / "storage-cache").resolve(),
            storage_cache_mb=_int(env, "STORAGE_CACHE_MB", 1024),
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN", ""),
            telegram_bot_username=env.get("TELEGRAM_BOT_USERNAME", "").lstrip("@"),
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or cls.telegram_api_base_url,
            telegram_file_base_url=env.get("TELEGRAM_FILE_BASE_URL") or cls.telegram_file_base_url,
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL", ""),
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN") or "0.0.0.0",
            telegram_webhook_port=_int(env, "TELEGRAM_WEBHOOK_PORT", _int(env, "PORT", 8443)),
            telegram_link_code_minutes=_int(env, "TELEGRAM_LINK_CODE_MINUTES", 15),
            telegram_edit_interval_seconds=float(env.get("TELEGRAM_EDIT_INTERVAL_SECONDS") or 2.0),
            telegram_messages_per_minute=_int(env, "TELEGRAM_MESSAGES_PER_MINUTE", 30),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
            llm_base_url=env.get("LLM_BASE_URL", "").strip(),
            llm_api_key=env.get("LLM_API_KEY", "").strip(),
            llm_model=env.get("LLM_MODEL", "").strip() or cls.llm_model,
            llm_timeout_seconds=float(env.get("LLM_TIMEOUT_SECONDS") or 30.0),
            llm_max_tokens=_int(env, "LLM_MAX_TOKENS", 700),
            llm_tenant_daily_tokens=_int(env, "LLM_TENANT_DAILY_TOKENS", 200_000),
            log_format=env.get("LOG_FORMAT", "").strip().lower() or "kv",
            log_level=env.get("LOG_LEVEL", "").strip().upper() or "INFO",
        )

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests build their own settings this way)."""
        return replace(self, **changes)
