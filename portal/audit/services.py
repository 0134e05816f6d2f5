"""Record audit events. Helpers only add to the session; the calling service commits."""
from __future__ import annotations

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db
from portal.notifications.messages import Message


def english(message: Message) -> str:
    """The English text of a message: the msgid with its figures in the neutral format the details always had
    ("1,190.00 EUR", "2026-03-31")."""
    values = {key: _english_value(value) for key, value in message.params.items()}
    return message.msgid % values if values else message.msgid.replace("%%", "%")


def _english_value(value):
    from portal.errors import _neutral_money

    if not isinstance(value, dict):
        return value
    if "$money" in value:
        if value.get("symbol"):
            from decimal import Decimal

            from portal.money import format_money

            return format_money(Decimal(value["$money"]), value.get("currency") or "EUR")
        return _neutral_money(value["$money"], value.get("currency"))
    if "$quantity" in value:
        from portal.money import format_quantity

        return format_quantity(value["$quantity"])
    if "$date" in value:
        return value["$date"]
    if "$datetime" in value:
        return value["$datetime"][:16].replace("T", " ")
    if "$msg" in value:
        return english(Message(value["$msg"][0], value["$msg"][1] or {}))
    if "$join" in value:  # several phrases (notifications.messages.joined)
        return str(value.get("sep", "; ")).join(str(_english_value(p)) for p in value["$join"])
    if "$number" in value:
        return value["$number"]
    return value


def record(entity_type: str, entity_id: int, action: str, *, actor=None, company_id=None,
           from_state=None, to_state=None, detail="", visible_to_company_id=None) -> AuditEvent:
    """``detail`` is a plain text, or a ``msg(_l("..."), figure=...)`` (portal/notifications/messages.py) that
    pages word in the reader's language and format; its English text is stored in ``detail`` as well."""
    message = None
    if isinstance(detail, Message):
        message, detail = detail.to_json(), english(detail)
    ev = AuditEvent(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_id=getattr(actor, "id", actor),
        company_id=company_id,
        from_state=getattr(from_state, "value", from_state),
        to_state=getattr(to_state, "value", to_state),
        detail=detail,
        message=message,
        visible_to_company_id=visible_to_company_id,
    )
    db.session.add(ev)
    return ev


def trail(entity_type: str, entity_id: int, viewer_company_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .where(sa.or_(AuditEvent.visible_to_company_id.is_(None),
                      AuditEvent.visible_to_company_id == viewer_company_id))
        .order_by(AuditEvent.id)
    ))
