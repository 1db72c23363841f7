"""Model tokens per tenant and UTC day: recorded after every answer, checked before the next one.

The budget (LLM_TENANT_DAILY_TOKENS) is checked before the model is called, so one answer may end a
little over it; the next question that day is refused with the time until midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from socrate.db.models import ModelUsage
from socrate.errors import RateLimited

CHARS_PER_TOKEN = 4  # estimate for providers that do not report usage


@dataclass(frozen=True)
class Usage:
    """One answer's tokens, as the provider reported them or as ``estimated`` from the text."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    def as_json(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


def estimated(messages: list[dict[str, str]], completion: list[str]) -> Usage:
    """~4 characters a token, for providers that send no usage and for answers cut short."""
    prompt_chars = sum(len(m["content"]) for m in messages)
    completion_chars = sum(map(len, completion))
    return Usage(max(1, prompt_chars // CHARS_PER_TOKEN), max(1, completion_chars // CHARS_PER_TOKEN), True)


def today() -> date:
    return datetime.now(UTC).date()


def record(session: Session, tenant_id: str, usage: Usage) -> None:
    """Add one answer's tokens to the tenant's row for today (created on first use)."""
    values = {"questions": 1, **usage.as_json()}
    statement = insert(ModelUsage).values(tenant_id=tenant_id, day=today(), **values)
    table = ModelUsage.__table__.c
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "day"], set_={k: table[k] + statement.excluded[k] for k in values}
        )
    )


def spent_today(session: Session, tenant_id: str) -> int:
    total = session.scalar(
        select(ModelUsage.prompt_tokens + ModelUsage.completion_tokens).where(
            ModelUsage.tenant_id == tenant_id, ModelUsage.day == today()
        )
    )
    return int(total or 0)


def check_budget(session: Session, tenant_id: str, daily_tokens: int) -> None:
    """RateLimited when the tenant has spent its tokens for today (``daily_tokens`` 0: no budget)."""
    if daily_tokens <= 0 or spent_today(session, tenant_id) < daily_tokens:
        return
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    raise RateLimited(
        f"This workspace has used its {daily_tokens:,} model tokens for today; questions get answers "
        "again after midnight UTC",
        retry_after=max(1, int((midnight - now).total_seconds())),
    )


def by_tenant_today(session: Session) -> dict[str, dict[str, int]]:
    """Today's questions and tokens of every tenant that asked something (stats, /metrics)."""
    rows = session.scalars(select(ModelUsage).where(ModelUsage.day == today()).order_by(ModelUsage.tenant_id))
    return {
        row.tenant_id: {
            "questions": row.questions,
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
        }
        for row in rows
    }
