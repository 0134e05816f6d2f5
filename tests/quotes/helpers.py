"""Small helpers for the quote tests."""
from __future__ import annotations

import html
from datetime import timedelta

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.quotes import services
from portal.quotes.forms import INPUT_PREFIX


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def valid_until(days=30) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


def header(days=30, shipping="25.00", terms="DAP Berlin", notes="") -> dict:
    return {"valid_until": valid_until(days), "shipping_cost": shipping, "delivery_terms": terms, "notes": notes}


def lines(rfq, prices, **per_line) -> list[dict]:
    """Line input for save_draft: ``prices`` per RFQ line (None = leave open); ``per_line`` maps a field to a
    {line index: value} dict, e.g. moq={0: "50"}."""
    out = []
    for i, rl in enumerate(sorted(rfq.lines, key=lambda r: r.position)):
        d = {"rfq_line_id": rl.id, "unit_price": "" if prices[i] is None else prices[i]}
        for field, values in per_line.items():
            if i in values:
                d[field] = values[i]
        out.append(d)
    return out


def draft_with(rfq, actor, prices, hdr=None, **per_line):
    q = services.get_or_create_draft(rfq, actor)
    services.save_draft(q, actor, hdr if hdr is not None else header(), lines(rfq, prices, **per_line),
                        q.lock_version)
    return q


def submitted(rfq, actor, prices, hdr=None, **per_line):
    q = draft_with(rfq, actor, prices, hdr, **per_line)
    services.submit(q, actor, q.lock_version)
    return q


def form(rfq, prices, *, lock_version, action="save", hdr=None, **per_line) -> dict:
    """The POST body of the quote form."""
    data = dict(hdr if hdr is not None else header())
    data["lock_version"] = str(lock_version)
    data["action"] = action
    for d in lines(rfq, prices, **per_line):
        lid = d["rfq_line_id"]
        for field, value in d.items():
            if field == "rfq_line_id":
                continue
            if field == "declined":
                if value:
                    data[f"{INPUT_PREFIX['declined']}-{lid}"] = "y"
                continue
            data[f"{INPUT_PREFIX[field]}-{lid}"] = value
    return data


def move_deadline_to_past(rfq, minutes=1):
    rfq = fresh(rfq)
    rfq.deadline = utcnow() - timedelta(minutes=minutes)
    db.session.commit()
    return rfq
