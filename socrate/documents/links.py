"""Documents from links: the row is made and queued at once; the worker fetches the page or file.

Only the address's shape is checked here (http/https, no credentials, not a literal private address):
resolving names and every address check happen in the worker at connect time
(socrate/integrations/fetch.py), where they cannot be raced. Until it is fetched a link's document has
``file_kind`` LINK, no size and no content hash; the worker fills them in (processing/pipeline.py).
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from socrate import logs, textfields
from socrate.config import Settings
from socrate.db.models import DOCUMENT_SOURCES, Document, Tenant, utcnow
from socrate.documents import lifecycle, quotas
from socrate.documents.service import Created, remove
from socrate.errors import BadRequest, ServiceUnavailable
from socrate.integrations import fetch
from socrate.processing.filetypes import LINK
from socrate.storage import Storage
from socrate.taskqueue import DocumentQueue

log = logging.getLogger(__name__)
LINK_MESSAGE = "Link received and queued: the page will be downloaded and read"


def create_from_link(
    session: Session,
    tenant_id: str,
    url: object,
    *,
    source: str,
    storage: Storage,
    queue: DocumentQueue,
    settings: Settings,
    title: str | None = None,
    chat: tuple[int, int] | None = None,
) -> Created:
    """Queue a document whose worker downloads ``url``; ``chat`` as in documents.create."""
    if source not in DOCUMENT_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not isinstance(url, str) or not url.strip():
        raise BadRequest('No link was given: send its address as "url"')
    url = fetch.check_url(url, allow_loopback=settings.allow_loopback_urls)
    title = textfields.shown(textfields.refuse_controls(title or "", "Title"))[:500]
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise BadRequest("Unknown tenant")
    quotas.check_count(session, tenant)
    doc_id, task_id, now = str(uuid.uuid4()), str(uuid.uuid4()), utcnow()
    doc = Document(
        id=doc_id,
        tenant_id=tenant_id,
        title=title or url[:500],
        filename=placeholder_name(url),
        source=source,
        source_url=url,
        content_type="",
        file_kind=LINK,
        size_bytes=0,
        sha256="",
        storage_key="",
        created_at=now,
        **lifecycle.queued(task_id, "Waiting for a worker to download the link", now),
    )
    if chat is not None:
        doc.telegram_chat_id, doc.telegram_message_id = chat
    try:
        session.add(doc)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise ServiceUnavailable("The database is unavailable; please retry shortly") from exc
    try:
        queue.process_document(doc_id, tenant_id, task_id)
    except ServiceUnavailable:
        remove(session, doc, storage)
        raise
    log.info("link queued", extra=logs.fields(tenant_id=tenant_id, document_id=doc_id, task_id=task_id))
    return Created(doc, queued_message=LINK_MESSAGE)


def placeholder_name(url: str) -> str:
    """What the list shows until the worker knows the real file name: the host and the path's last part."""
    parts = urlsplit(url)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return textfields.shown(f"{parts.hostname or 'link'}{' · ' + last if last else ''}")[:200]
