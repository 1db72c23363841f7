"""The only way to fetch tenant-owned rows: every query takes the tenant."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Row, Select, bindparam, select, update
from sqlalchemy.orm import Session

from socrate.db.models import ApiKey
from socrate.db.prepared import Prepared
from socrate.errors import NotFound

T = TypeVar("T")


def select_owned(model: type[T], tenant_id: str) -> Select[tuple[T]]:
    """A SELECT of ``model`` already restricted to ``tenant_id``."""
    return select(model).where(model.tenant_id == tenant_id)  # type: ignore[attr-defined]


def canonical_id(model: type, object_id: str) -> str:
    """The one id parser every route goes through: any spelling ``uuid.UUID`` reads (upper case, no
    hyphens, braces) becomes the stored lower-case hyphenated form; malformed ids (NUL bytes, junk)
    are simply not found, never a database error."""
    try:
        return str(uuid.UUID(str(object_id)))
    except ValueError:
        raise NotFound(f"{model.__name__.lower()} not found") from None


def get_owned(
    session: Session, model: type[T], object_id: str, tenant_id: str, *, for_update: bool = False
) -> T:
    """The row with this id owned by this tenant, else NotFound (same for other tenants' rows)."""
    object_id = canonical_id(model, object_id)
    stmt = select_owned(model, tenant_id).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(f"{model.__name__.lower()} not found")
    return row


@lru_cache(maxsize=64)
def _owned_columns_statement(model: type, columns: tuple[Any, ...]) -> Select[Any]:
    """Built once per (model, columns): statement construction dominated the polling hot path."""
    return select(*columns).where(
        model.id == bindparam("object_id"),  # type: ignore[attr-defined]
        model.tenant_id == bindparam("tenant_id"),  # type: ignore[attr-defined]
    )


def get_owned_columns(
    conn: Connection, model: type[T], object_id: str, tenant_id: str, columns: tuple[Any, ...]
) -> Row[Any]:
    """Some columns of an owned row on a bare connection (hot paths such as polling), else NotFound."""
    object_id = canonical_id(model, object_id)
    stmt = _owned_columns_statement(cast(type, model), columns)  # mypy does not see type[T] as Hashable
    row = conn.execute(stmt, {"object_id": object_id, "tenant_id": tenant_id}).first()
    if row is None:
        raise NotFound(f"{model.__name__.lower()} not found")
    return row


@lru_cache(maxsize=64)
def _key_and_owned_columns_statement(model: type, columns: tuple[Any, ...]) -> Select[Any]:
    """The API key row, outer-joined to the object only if the key's tenant owns it."""
    owned = (model.tenant_id == ApiKey.tenant_id) & (model.id == bindparam("object_id"))  # type: ignore[attr-defined]
    key_columns = (ApiKey.tenant_id, ApiKey.key_hash, ApiKey.revoked_at, ApiKey.last_used_at)
    return (
        select(*key_columns, *columns)
        .select_from(ApiKey)
        .outerjoin(model, owned)
        .where(ApiKey.prefix == bindparam("prefix"))
    )


def get_key_and_owned_columns(
    conn: Connection, model: type[T], object_id: str, key_prefix: str, columns: tuple[Any, ...]
) -> Any:
    """One round trip for hot paths: the key (to verify) and the columns of the object it may read, as
    a named tuple.

    None when no key has this prefix; the object's columns are None when the key's tenant does not
    own it (or the id is malformed). The caller must verify the key before using anything.
    """
    try:
        found: str | None = canonical_id(model, object_id)
    except NotFound:
        found = None
    return _key_and_owned_columns(cast(type, model), columns).first(conn, object_id=found, prefix=key_prefix)


@lru_cache(maxsize=64)
def _key_and_owned_columns(model: type, columns: tuple[Any, ...]) -> Prepared:
    """The statement for this model and columns, prepared on each connection that runs it."""
    return Prepared.of(_key_and_owned_columns_statement(model, columns))


def update_owned(
    session: Session,
    model: type[T],
    object_id: str,
    tenant_id: str,
    *,
    only_if: tuple[Any, ...] = (),
    **values: object,
) -> None:
    """UPDATE one owned row in place; NotFound if it is gone or fails the ``only_if`` conditions."""
    object_id = canonical_id(model, object_id)
    stmt = (
        update(model)
        .where(model.id == object_id, model.tenant_id == tenant_id, *only_if)  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", session.execute(stmt)).rowcount == 0:
        raise NotFound(f"{model.__name__.lower()} not found")
