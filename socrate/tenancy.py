"""The only way to fetch tenant-owned rows: every query takes the tenant."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from socrate.errors import NotFound

T = TypeVar("T")


def select_owned(model: type[T], tenant_id: str) -> Select[tuple[T]]:
    """A SELECT of ``model`` already restricted to ``tenant_id``."""
    return select(model).where(model.tenant_id == tenant_id)  # type: ignore[attr-defined]


def get_owned(
    session: Session, model: type[T], object_id: str, tenant_id: str, *, for_update: bool = False
) -> T:
    """The row with this id owned by this tenant, else NotFound (same for other tenants' rows)."""
    stmt = select_owned(model, tenant_id).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound(f"{model.__name__.lower()} not found")
    return row


def update_owned(session: Session, model: type[T], object_id: str, tenant_id: str, **values: object) -> None:
    """UPDATE one owned row in place; NotFound if it no longer exists (e.g. deleted meanwhile)."""
    stmt = (
        update(model)
        .where(model.id == object_id, model.tenant_id == tenant_id)  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount == 0:
        raise NotFound(f"{model.__name__.lower()} not found")
