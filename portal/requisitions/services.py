"""Purchase requisitions: raise, submit, approve (cost-centre owners, then the amount rules), cancel, and
procurement's queue: turn approved requisitions into an RFQ or into catalog purchase orders.

Approval (``decide``): every owner of a cost centre on the lines approves (an owner who is the requester is not
asked); then, when the estimated total exceeds a threshold of the company's approval rules (the rules orders use,
portal/orders/approvals.py ``required_for_amount``), that many approvers, each a different person who is not the
requester. The decision that completes the round moves the requisition to approved and commits its amount
against the budgets: under the requisition row lock it locks the budget rows of its cost centres (id order),
reads their figures and, in ``block`` mode, refuses an approval that would take a budget below zero unless the
cost centre's owner approved it over budget. Lock order: the requisition, then its budget rows (see
portal/credit/ledger.py).
"""
from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.accounts.models import Company, Role, User
from portal.audit.services import record
from portal.budgets import services as budgets
from portal.budgets.figures import ImpactSummary, impact
from portal.budgets.models import BudgetMode
from portal.db import db, utcnow
from portal.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from portal.i18n import _l
from portal.notifications import messages as words
from portal.errors import state_fig
from portal.locking import lock_checked, retry_on_conflict
from portal.money import CURRENCIES, format_money, quantize, to_decimal
from portal.numbering import format_reference, next_number
from portal.requisitions.models import (
    Requisition,
    RequisitionApproval,
    RequisitionAttachment,
    RequisitionLine,
)
from portal.requisitions.states import RequisitionStatus, check
from portal.tenancy import get_for_company

S = RequisitionStatus
ZERO = Decimal(0)
MAX_LINES = 200
MAX_TITLE = 200
MAX_TEXT = 4000
STALE = _l("This requisition changed since you opened it; reload the page and try again.")
PROCUREMENT = (Role.procurement, Role.admin)


unit_of_work = budgets.unit_of_work_with(
    STALE, _l("Someone else changed this requisition at the same moment; reload and try again."))


def link(req: Requisition) -> str:
    return f"/requisitions/{req.id}"


def _require_buyer(actor: User) -> None:
    if not actor.company.is_buyer:
        raise Forbidden(_l("Requisitions belong to buying companies."))


def load(actor: User, req_id, *, for_update: bool = False, version=None) -> Requisition:
    if for_update:
        get_for_company(Requisition, req_id, actor.company_id)
        return lock_checked(Requisition, req_id, version, STALE, required=False,
                            where=(Requisition.company_id == actor.company_id,), not_found=_l("No such requisition."))
    return get_for_company(Requisition, req_id, actor.company_id)


# The kinds of a requisition's approval steps, inside its history sentence.
APPROVAL_KIND_WORDS = {"owner": _l("cost-centre owner"), "amount": _l("amount")}


def _move(req: Requisition, target: S, actor: User | None, detail: str = "") -> None:
    check(req.status, target)
    before = req.status
    req.status = target
    record("requisition", req.id, target.value, actor=actor, company_id=req.company_id, from_state=before,
           to_state=target, detail=detail)
    if target.value in ("submitted", "approved", "rejected"):
        from portal.events.services import emit

        emit(req.company_id, f"requisition.{target.value}", req)


# --------------------------------------------------------------------------------------------- raise and edit

def _parse_day(value, label: str) -> date | None:
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(_l("%(label)s: “%(text)s” is not a date (use YYYY-MM-DD)."),
                               label=label, text=text[:20])


def _clean_lines(actor: User, currency: str, specs: list[dict], *, check_dates: bool) -> list[dict]:
    """Check every line; raise one ValidationFailed naming each bad one (nothing is saved)."""
    from portal.catalog.models import CatalogItem

    errors: dict[str, str] = {}
    out = []
    specs = [s for s in specs if any(str(s.get(k) or "").strip() for k in
                                     ("description", "catalog_item_id", "quantity", "estimated_price"))]
    if len(specs) > MAX_LINES:
        raise ValidationFailed(_l("A requisition has at most %(max_lines)s lines."), max_lines=MAX_LINES)
    rows = budgets.cost_defaults(actor.company_id)
    today = utcnow().date()
    for i, spec in enumerate(specs, 1):
        label = f"Line {i}"
        try:
            item = None
            sku = str(spec.get("sku") or "").strip()
            if sku and not str(spec.get("catalog_item_id") or "").strip():
                item = db.session.scalar(sa.select(CatalogItem).where(
                    sa.func.lower(CatalogItem.sku) == sku.lower(), CatalogItem.active.is_(True))
                    .order_by(CatalogItem.id).limit(1))
                if item is None:
                    raise ValidationFailed(_l("%(label)s: no catalog item has the SKU “%(sku)s”."),
                                           label=label, sku=sku[:40])
            elif str(spec.get("catalog_item_id") or "").strip():
                try:
                    item_id = int(spec["catalog_item_id"])
                except (TypeError, ValueError):
                    raise ValidationFailed(_l("%(label)s: no such catalog item."), label=label)
                item = db.session.get(CatalogItem, item_id) if 0 < item_id <= 2**31 - 1 else None
                if item is None or not item.active:
                    raise NotFound(_l("No such catalog item."))
            description = " ".join(str(spec.get("description") or "").split()) or (item.name if item else "")
            if not description:
                raise ValidationFailed(_l("%(label)s: say what you need (a description or a catalog item)."),
                                       label=label)
            if len(description) > 500:
                raise ValidationFailed(_l("%(label)s: the description is too long; at most 500 characters."),
                                       label=label)
            quantity = to_decimal(spec.get("quantity"), f"{label} quantity")
            if quantity <= 0:
                raise ValidationFailed(_l("%(label)s: the quantity must be more than 0."), label=label)
            price_text = str(spec.get("estimated_price") or "").strip()
            if price_text:
                price = to_decimal(price_text, f"{label} estimated price")
            elif item is not None:
                price = item.unit_price
            else:
                raise ValidationFailed(_l("%(label)s: enter an estimated unit price."), label=label)
            if price < 0:
                raise ValidationFailed(_l("%(label)s: the estimated price cannot be negative."), label=label)
            if item is not None and not price_text and item.currency != currency:
                raise ValidationFailed(_l("%(label)s: the catalog price is in %(currency)s; enter an estimate in "
                                          "%(currency2)s."),
                                       label=label, currency=item.currency, currency2=currency)
            unit = " ".join(str(spec.get("unit") or "").split()) or (item.unit if item else "pcs")
            if len(unit) > 16:
                raise ValidationFailed(_l("%(label)s: the unit is too long (e.g. pcs, kg, m)."), label=label)
            needed_by = _parse_day(spec.get("needed_by"), f"{label} needed by")
            if check_dates and needed_by is not None and needed_by < today:
                raise ValidationFailed(_l("%(label)s: the needed-by date is in the past."), label=label)
            cc_id = spec.get("cost_centre_id")
            gl_id = spec.get("gl_account_id")
            cc = budgets.cost_centre_of(actor.company_id, cc_id) if str(cc_id or "").strip() else None
            gl = budgets.gl_account_of(actor.company_id, gl_id) if str(gl_id or "").strip() else None
            if cc is not None and not cc.active:
                raise ValidationFailed(_l("%(label)s: cost centre %(code)s is no longer in use."),
                                       label=label, code=cc.code)
            d_cc, d_gl = budgets.default_for(actor.company_id, category=item.category if item else None,
                                             user_id=actor.id, rows=rows)
        except ValidationFailed as exc:
            errors[f"line-{i}"] = exc.message
            continue
        out.append({"catalog_item_id": item.id if item else None, "description": description,
                    "quantity": quantity, "unit": unit, "estimated_price": price, "needed_by": needed_by,
                    "cost_centre_id": cc.id if cc else d_cc, "gl_account_id": gl.id if gl else d_gl,
                    "line_total": quantize(quantity * price, currency)})
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    return out


@retry_on_conflict
@unit_of_work
def save(actor: User, *, req_id=None, version=None, title, justification="", lines: list[dict],
         suggested_supplier_id=None, suggested_supplier_text="", currency=None, submit: bool = False) -> Requisition:
    """Create (``req_id`` None) or replace a draft requisition, all lines at once; ``submit`` also submits it
    (in the same unit of work: a refused submission saves nothing)."""
    _require_buyer(actor)
    errors = {}
    title = " ".join(str(title or "").split())
    if not title:
        errors["title"] = "Give the requisition a title (what is it for?)."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"The title is too long; at most {MAX_TITLE} characters."
    justification = str(justification or "").strip()
    if len(justification) > MAX_TEXT:
        errors["justification"] = f"The justification is too long; at most {MAX_TEXT:,} characters."
    supplier_text = " ".join(str(suggested_supplier_text or "").split())[:200]
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    supplier = None
    if str(suggested_supplier_id or "").strip():
        try:
            sid = int(suggested_supplier_id)
        except (TypeError, ValueError):
            sid = 0
        supplier = db.session.get(Company, sid) if 0 < sid <= 2**31 - 1 else None
        if supplier is None or not supplier.is_supplier:
            raise NotFound(_l("No such supplier."))
    if req_id is None:
        currency = (currency or actor.company.default_currency).upper()
        if currency not in CURRENCIES:
            raise ValidationFailed(_l("Choose a currency."), errors={"currency": _l("Choose a currency.")})
        req = Requisition(company_id=actor.company_id, requester_id=actor.id, currency=currency, status=S.draft)
    else:
        req = load(actor, req_id, for_update=True, version=version)
        if req.requester_id != actor.id:
            raise Forbidden(_l("Only the requester edits a requisition."))
        if req.status != S.draft:
            raise InvalidTransition(_l("Only a draft can be edited; this requisition is %(state)s."),
                                    state=state_fig(req.status))
    clean = _clean_lines(actor, req.currency, lines or [], check_dates=True)
    if not clean:
        raise ValidationFailed(_l("A requisition needs at least one line."), errors={"lines": _l("Add a line.")})
    req.title, req.justification = title, justification
    req.suggested_supplier_id = supplier.id if supplier else None
    req.suggested_supplier_text = supplier_text
    if req_id is None:
        now = utcnow()
        req.number = format_reference("REQ", now.year, next_number(actor.company_id, "REQ", now.year), 4)
        db.session.add(req)
    else:
        req.lines.clear()
        db.session.flush()
    for i, spec in enumerate(clean, 1):
        req.lines.append(RequisitionLine(position=i, **spec))
    req.total_estimated = sum((c["line_total"] for c in clean), ZERO)
    db.session.flush()
    record("requisition", req.id, "saved" if req_id else "created", actor=actor, company_id=req.company_id,
           detail=words.msg(_l("%(number)s: %(n)s line(s), %(total)s"), number=req.number, n=len(clean),
                            total=words.money(req.total_estimated, req.currency, symbol=True)))
    if submit:
        _submit(req, actor)
    return req


# --------------------------------------------------------------------------------------------- approval

def owners_needed(req: Requisition) -> list[User]:
    """The cost-centre owners who must approve (not the requester; each once)."""
    seen, out = set(), []
    for line in req.lines:
        owner = line.cost_centre.owner if line.cost_centre is not None else None
        if owner is not None and owner.active and owner.id != req.requester_id and owner.id not in seen:
            seen.add(owner.id)
            out.append(owner)
    return out


def amount_approvals_needed(req: Requisition, rules=None) -> int:
    """``rules``: the company's approval rules when the caller already has them (a list page)."""
    from portal.orders.approvals import required_for_amount

    company = db.session.get(Company, req.company_id)
    return required_for_amount(req.company_id, company.default_currency, req.currency, req.total_estimated,
                               rules)


def current_round(req: Requisition) -> list[RequisitionApproval]:
    rows = sorted(req.approvals, key=lambda a: a.step)
    last_reject = max((a.step for a in rows if a.decision == "rejected"), default=0)
    last_submit = 0
    return [a for a in rows if a.step > max(last_reject, last_submit)]


def pending(req: Requisition, rules=None) -> dict:
    """What the requisition still waits for: owners (people) and how many amount approvals."""
    done = current_round(req)
    owners_done = {a.approver_id for a in done if a.kind == "owner"}
    owners = [u for u in owners_needed(req) if u.id not in owners_done]
    amount_done = len([a for a in done if a.kind == "amount"])
    return {"owners": owners, "amount": max(amount_approvals_needed(req, rules) - amount_done, 0)}


def can_decide(req: Requisition, user: User, rules=None) -> tuple[str | None, str | None]:
    """(kind of approval the user would give, None) or (None, the sentence why not). ``rules``: the company's
    approval rules when the caller already has them (a list page)."""
    if req.company_id != user.company_id:
        return None, "Only the requester's company decides on this requisition."
    if req.status != S.submitted:
        return None, f"This requisition is {req.status.label.lower()}, not awaiting approval."
    if user.id == req.requester_id:
        return None, "You cannot approve your own requisition."
    if any(a.approver_id == user.id for a in current_round(req)):
        return None, "You have already approved this requisition."
    wait = pending(req, rules)
    if any(o.id == user.id for o in wait["owners"]):
        return "owner", None
    if wait["owners"]:
        return None, "Waiting for the cost-centre owner: " + ", ".join(o.name for o in wait["owners"]) + "."
    if wait["amount"] and user.has_role(Role.approver):
        return "amount", None
    return None, "Only an approver can give the next approval."


def _notify_next(req: Requisition, actor: User) -> None:
    from portal.notifications.services import company_users, notify

    wait = pending(req)
    if wait["owners"]:
        people = wait["owners"]
    elif wait["amount"]:
        done = {a.approver_id for a in current_round(req)}
        people = [u for u in company_users(req.company_id, Role.approver)
                  if u.id != req.requester_id and u.id not in done]
    else:
        return
    notify(people, kind="requisition",
           title=words.msg(_l("Requisition %(number)s needs your approval"), number=req.number),
           body=words.msg(_l("%(requester)s asks for %(title)s (%(total)s)."), requester=req.requester.name,
                          title=req.title, total=words.money(req.total_estimated, req.currency)),
           link=link(req))


def _approve(req: Requisition, actor: User | None) -> ImpactSummary:
    """The round is complete: check the budgets under their row locks, then approve."""
    today = utcnow().date()
    summary = impact(req, today, lock=True)
    over = summary.exceeded
    if over:
        mode = budgets.settings_for(req.company_id).budget_mode
        overridden = {a.approver_id for a in current_round(req) if a.kind == "owner" and a.over_budget}
        blocked = [r for r in over if mode == BudgetMode.block and
                   not (r.cost_centre.owner_id and r.cost_centre.owner_id in overridden)]
        if blocked:
            parts = "; ".join(f"{r.cost_centre.code} has {format_money(r.figures.available, req.currency)} "
                              f"available, this requisition needs {format_money(r.amount, req.currency)}"
                              for r in blocked)
            raise ValidationFailed(_l("The budget would be exceeded (%(parts)s). The cost-centre owner can approve "
                                      "over budget, or the budget can be raised."),
                                   parts=parts, errors={"budget": _l("Exceeded.")})
    req.approved_at = utcnow()
    req.approved_on = today
    detail = words.msg("%(rows)s", rows=words.joined([
        words.msg(_l("%(code)s: %(amount)s left"), code=r.cost_centre.code,
                  amount=words.money(r.available_after, req.currency, symbol=True))
        for r in summary.rows if r.figures is not None]))
    _move(req, S.approved, actor, detail)
    from portal.notifications.services import company_users, notify

    approved = words.msg(_l("Requisition %(number)s is approved"), number=req.number)
    notify([req.requester], kind="requisition", title=approved,
           body=words.msg(_l("It is in procurement's queue now.")), link=link(req))
    notify([u for u in company_users(req.company_id, Role.procurement)], kind="requisition",
           title=approved, body=words.msg(_l("%(title)s: ready to source."), title=req.title),
           link="/requisitions/queue", mail=False)
    return summary


def _submit(req: Requisition, actor: User) -> None:
    if req.requester_id != actor.id:
        raise Forbidden(_l("Only the requester submits a requisition."))
    if not req.lines:
        raise ValidationFailed(_l("A requisition needs at least one line."))
    if budgets.settings_for(req.company_id).cost_centre_required:
        missing = [str(ln.position) for ln in req.lines if ln.cost_centre_id is None]
        if missing:
            raise ValidationFailed(
                _l("Your company requires a cost centre on every line; line%(s)s %(missing)s %(v)s none."),
                s='s' if len(missing) > 1 else '', missing=', '.join(missing),
                v='have' if len(missing) > 1 else 'has',
                errors={"cost_centre_id": _l("Choose a cost centre.")})
    req.submitted_at = utcnow()
    # A new round: earlier decisions (a rejected round) no longer count.
    _move(req, S.submitted, actor, words.msg("%(total)s", total=words.money(req.total_estimated, req.currency,
                                                                              symbol=True)))
    db.session.flush()
    wait = pending(req)
    if not wait["owners"] and not wait["amount"]:
        _approve(req, None)
    else:
        _notify_next(req, actor)


@retry_on_conflict
@unit_of_work
def submit(actor: User, req_id, version=None) -> Requisition:
    req = load(actor, req_id, for_update=True, version=version)
    if req.status != S.draft:
        raise InvalidTransition(_l("This requisition is %(state)s; only a draft is submitted."),
                                state=state_fig(req.status))
    _submit(req, actor)
    return req


@retry_on_conflict
@unit_of_work
def decide(actor: User, req_id, version, decision: str, comment: str = "", over_budget: bool = False) -> Requisition:
    """Approve or reject (with a comment) the next step. The row lock serialises approvers of one requisition;
    the budget rows' locks (taken when the round completes) serialise approvals on one budget."""
    if decision not in ("approved", "rejected"):
        raise ValidationFailed(_l("Choose approve or reject."))
    req = load(actor, req_id, for_update=True, version=version)
    kind, why_not = can_decide(req, actor)
    if why_not:
        raise (InvalidTransition if req.status != S.submitted else Forbidden)(why_not)
    comment = str(comment or "").strip()
    if decision == "rejected" and not comment:
        raise ValidationFailed(_l("Say why you reject the requisition; the requester sees your comment."),
                               errors={"comment": _l("A comment is required when rejecting.")})
    if len(comment) > 2000:
        raise ValidationFailed(_l("The comment is too long (2,000 characters at most)."))
    step = max((a.step for a in req.approvals), default=0) + 1
    req.approvals.append(RequisitionApproval(step=step, kind=kind, approver_id=actor.id, decision=decision,
                                             comment=comment, over_budget=bool(over_budget) and kind == "owner"))
    db.session.flush()
    from portal.notifications.services import notify

    if decision == "rejected":
        req.decision_note = comment
        _move(req, S.rejected, actor, comment)
        notify([req.requester], kind="requisition",
               title=words.msg(_l("Requisition %(number)s was not approved"), number=req.number),
               body=words.msg(_l("%(name)s: %(comment)s"), name=actor.name, comment=comment), link=link(req))
    else:
        wait = pending(req)
        if not wait["owners"] and not wait["amount"]:
            _approve(req, actor)
        else:
            record("requisition", req.id, "approval", actor=actor, company_id=req.company_id,
                   detail=words.msg(_l("%(kind)s approval: %(comment)s") if comment else _l("%(kind)s approval"),
                                    kind=words.msg(APPROVAL_KIND_WORDS.get(kind, kind)), comment=comment))
            req.updated_at = utcnow()
            _notify_next(req, actor)
    return req


@retry_on_conflict
@unit_of_work
def cancel(actor: User, req_id, version=None, reason: str = "") -> Requisition:
    req = load(actor, req_id, for_update=True, version=version)
    reason = str(reason or "").strip()
    if req.status in (S.draft, S.submitted):
        if req.requester_id != actor.id and not actor.has_role(Role.admin):
            raise Forbidden(_l("Only the requester cancels a requisition before it is approved."))
    elif req.status in (S.approved, S.sourcing):
        if not actor.has_role(*PROCUREMENT):
            raise Forbidden(_l("Procurement cancels an approved requisition."))
        if not reason:
            raise ValidationFailed(_l("Say why you cancel the approved requisition; the requester sees it."),
                                   errors={"reason": _l("Enter a reason.")})
    check(req.status, S.cancelled)
    req.decision_note = reason or None
    _move(req, S.cancelled, actor, reason)
    return req


@retry_on_conflict
@unit_of_work
def reopen(actor: User, req_id, version=None) -> Requisition:
    req = load(actor, req_id, for_update=True, version=version)
    if req.requester_id != actor.id:
        raise Forbidden(_l("Only the requester reopens a rejected requisition."))
    _move(req, S.draft, actor, words.msg(_l("reopened")))
    return req


@unit_of_work
def add_attachment(actor: User, req_id, *, filename: str, data: bytes) -> RequisitionAttachment:
    from portal.documents.store import save_bytes
    from portal.rfq.services import check_attachment

    req = load(actor, req_id, for_update=True)
    if req.requester_id != actor.id or req.status != S.draft:
        raise InvalidTransition(_l("Attachments are added by the requester while the requisition is a draft."))
    if len(req.attachments) >= 10:
        raise ValidationFailed(_l("A requisition takes at most 10 attachments."))
    name, content_type = check_attachment(filename, data)
    stored = save_bytes(data, filename=name, content_type=content_type, owner_company_id=req.company_id)
    att = RequisitionAttachment(requisition_id=req.id, file_id=stored.id, filename=name, uploaded_by_id=actor.id)
    db.session.add(att)
    db.session.flush()
    record("requisition", req.id, "attachment", actor=actor, company_id=req.company_id, detail=name)
    return att


# --------------------------------------------------------------------------------------------- lists

def list_for(actor: User, *, mine: bool = True, status: str | None = None, limit: int = 200) -> list[Requisition]:
    stmt = sa.select(Requisition).where(Requisition.company_id == actor.company_id)
    if mine:
        stmt = stmt.where(Requisition.requester_id == actor.id)
    if status:
        try:
            stmt = stmt.where(Requisition.status == S(status))
        except ValueError:
            pass
    return list(db.session.scalars(stmt.options(selectinload(Requisition.lines))  # the list shows the lines
                                   .order_by(Requisition.id.desc()).limit(limit)).unique())


def approval_queue(actor: User) -> list[Requisition]:
    rows = db.session.scalars(
        sa.select(Requisition).where(Requisition.company_id == actor.company_id, Requisition.status == S.submitted)
        .options(selectinload(Requisition.approvals), selectinload(Requisition.lines))
        .order_by(Requisition.submitted_at, Requisition.id)).unique().all()
    from portal.orders.approvals import rules_for

    rules = rules_for(actor.company_id) if rows else []  # once for the queue, not once per requisition
    return [r for r in rows if can_decide(r, actor, rules)[0] is not None]


def procurement_queue(actor: User) -> list[Requisition]:
    if not actor.has_role(*PROCUREMENT):
        raise Forbidden(_l("Procurement's queue is for procurement."))
    return list(db.session.scalars(
        sa.select(Requisition).where(Requisition.company_id == actor.company_id,
                                     Requisition.status.in_((S.approved, S.sourcing)))
        .options(selectinload(Requisition.lines))
        .order_by(Requisition.approved_at, Requisition.id)).unique())


# --------------------------------------------------------------------------------------------- sourcing

def _approved_set(actor: User, req_ids) -> list[Requisition]:
    if not actor.has_role(*PROCUREMENT):
        raise Forbidden(_l("Only procurement turns requisitions into RFQs and orders."))
    ids = []
    for rid in req_ids or []:
        try:
            ids.append(int(rid))
        except (TypeError, ValueError):
            raise NotFound(_l("No such requisition."))
    if not ids:
        raise ValidationFailed(_l("Choose at least one approved requisition."),
                               errors={"requisitions": _l("Choose one.")})
    reqs = []
    for rid in sorted(set(ids)):
        get_for_company(Requisition, rid, actor.company_id)
        req = lock_checked(Requisition, rid, None, STALE, required=False,
                           where=(Requisition.company_id == actor.company_id,), not_found=_l("No such requisition."))
        if req.status != S.approved:
            raise InvalidTransition(_l("%(number)s is %(state)s; only approved requisitions that are not yet being "
                                       "sourced can be turned into an RFQ or orders."),
                                    number=req.number, state=state_fig(req.status))
        reqs.append(req)
    currencies = {r.currency for r in reqs}
    if len(currencies) > 1:
        raise ValidationFailed(_l("The requisitions are in different currencies; source them separately."))
    return reqs


@retry_on_conflict
@unit_of_work
def to_rfq(actor: User, req_ids, *, title: str | None = None, deadline=None):
    """One draft RFQ with a line per requisition line (its link kept on the requisition line); the requisitions
    move to sourcing. Uses the RFQ services (their flush-only bodies, so this stays one unit of work)."""
    from datetime import datetime

    from portal.rfq import services as rfq_services

    reqs = _approved_set(actor, req_ids)
    if deadline is None:
        local = rfq_services.default_deadline_local(actor.timezone)
        deadline = rfq_services.local_to_utc(local, actor.timezone)
    if isinstance(deadline, datetime) and deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    title = " ".join(str(title or "").split()) or (reqs[0].title if len(reqs) == 1 else
                                                   f"{reqs[0].title} and {len(reqs) - 1} more")
    needed = [ln.needed_by for r in reqs for ln in r.lines if ln.needed_by]
    rfq = rfq_services.create_rfq.__wrapped__(
        actor, title=title[:200], currency=reqs[0].currency, deadline=deadline,
        delivery_date=min(needed) if needed and min(needed) > utcnow().date() else None,
        description="From requisition" + ("s " if len(reqs) > 1 else " ") + ", ".join(r.number for r in reqs))
    for req in reqs:
        for ln in req.lines:
            line = rfq_services.add_line.__wrapped__(
                actor, rfq.id, description=ln.description, quantity=str(ln.quantity), unit=ln.unit,
                target_price=str(ln.estimated_price), notes=f"{req.number} line {ln.position}")
            db.session.flush()
            ln.rfq_line_id = line.id
        _move(req, S.sourcing, actor, words.msg(_l("RFQ %(reference)s"), reference=rfq.reference))
    return rfq


@retry_on_conflict
@unit_of_work
def to_orders(actor: User, req_ids):
    """Catalog purchase orders, one draft per supplier, from the requisitions' catalog lines (priced by the
    catalog and the buyer's price list; the order lines keep the cost centre and GL account, the requisition
    lines link their order line). Free-text lines are refused: they go into an RFQ."""
    from portal.catalog.models import CatalogItem
    from portal.catalog.services import price_order_rows
    from portal.orders.services import build_draft_order

    reqs = _approved_set(actor, req_ids)
    free = [f"{r.number} line {ln.position}" for r in reqs for ln in r.lines if ln.catalog_item_id is None]
    if free:
        raise ValidationFailed(_l("Only catalog items can be ordered directly; %(items)s %(v)s free text. Turn them into "
                                  "an RFQ instead."), items=", ".join(free), v="are" if len(free) > 1 else "is")
    by_supplier: dict[int, list[RequisitionLine]] = {}
    for req in reqs:
        for ln in req.lines:
            item = db.session.get(CatalogItem, ln.catalog_item_id)
            by_supplier.setdefault(item.supplier_company_id, []).append(ln)
    orders = []
    for supplier_id, req_lines in sorted(by_supplier.items()):
        rows = [(db.session.get(CatalogItem, ln.catalog_item_id).sku, str(ln.quantity), i)
                for i, ln in enumerate(req_lines, 1)]
        priced = price_order_rows(actor.company_id, supplier_id, rows)
        if priced.errors:
            raise ValidationFailed(" ".join(priced.errors.values()))
        order = build_draft_order(actor, supplier_id, priced.lines, source="catalog",
                                  notes="From requisition(s) " + ", ".join(sorted({ln.requisition.number
                                                                                  for ln in req_lines})))
        by_sku = {ol.sku.lower(): ol for ol in order.lines if ol.sku}
        for ln in req_lines:
            sku = db.session.get(CatalogItem, ln.catalog_item_id).sku.lower()
            ol = by_sku.get(sku)
            if ol is None:
                continue
            ln.order_line = ol
            ol.cost_centre_id = ln.cost_centre_id if ol.cost_centre_id is None or ln.cost_centre_id else \
                ol.cost_centre_id
            ol.gl_account_id = ln.gl_account_id or ol.gl_account_id
            ol.cost_reference = (ln.requisition.number + (" " + ol.cost_reference if ol.cost_reference else ""))[:100]
        orders.append(order)
    for req in reqs:
        _move(req, S.sourcing, actor, words.msg(_l("orders %(numbers)s"),
                                                numbers=", ".join(o.po_number for o in orders)))
    db.session.flush()
    return orders


def budget_impact(req: Requisition) -> ImpactSummary:
    """For the approval page: the figures as they stand today (no locks)."""
    return impact(req, utcnow().date())
