"""Accounts payable over the API (the buyer's side): approval for payment, tolerances and cash discount terms,
the automatic match, disputes, payment runs with their SEPA file (pain.001.001.09) and remittance advices.
Accounts people only (approvers and admins may approve runs), like the pages."""
from __future__ import annotations

from flask import Response
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.api.auth import idempotent
from portal.api.spec import RATE_LIMIT_HEADERS
from portal.api.common import PageArgs, actor, created, make_blueprint, money, page_envelope, paged_schema, problems
from portal.api.schemas import BoundedInt, DecimalString, LockArgs, MoneyOut, lock_or_current, plain, ts
from portal.db import db
from portal.errors import Forbidden, NotFound
from portal.i18n import _l
from portal.invoices.models import Invoice
from portal.payables import disputes as dispute_services
from portal.payables import matching, remittance, runs
from portal.payables.models import Dispute, ItemState, PaymentRun, RemittanceAdvice
from portal.tenancy import get_for_company

bp = make_blueprint("api_payables", "The buyer's accounts payable: approval, tolerances, matching, disputes, "
                                    "payment runs with SEPA files, remittance advices.", tag="Accounts payable")


def _accounts(*roles):
    user = actor()
    if not user.has_role(*(roles or (Role.accounts, Role.admin))):
        raise Forbidden(_l("Only accounts people work with payables."))
    return user


# --------------------------------------------------------------------------------------------- approval and match

class ApproveIn(LockArgs):
    despite_mismatches = fields.Boolean(load_default=False)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class ExceptionOut(Schema):
    position = fields.Integer(allow_none=True)
    kind = fields.String(metadata={"description": "price, quantity or total"})
    description = fields.String()
    ordered = fields.String(allow_none=True)
    received = fields.String(allow_none=True)
    invoiced = fields.String(allow_none=True)
    order_price = fields.String(allow_none=True)
    invoice_price = fields.String(allow_none=True)
    difference = fields.String(allow_none=True)
    difference_percent = fields.String(allow_none=True)
    tolerance = fields.String()
    sentence = fields.String()


class MatchOut(Schema):
    invoice_id = fields.Integer()
    status = fields.String(allow_none=True, metadata={"description": "matched, exceptions, covered (by credit "
                                                                    "notes) or null (not checked yet)"})
    exceptions = fields.List(fields.Nested(ExceptionOut))
    checked_at = fields.DateTime(allow_none=True)
    auto_approved = fields.Boolean()
    approved_for_payment_at = fields.DateTime(allow_none=True)
    disputed = fields.Boolean()
    lock_version = fields.Integer()


def _buyer_invoice(inv_id) -> Invoice:
    user = _accounts()
    inv = get_for_company(Invoice, inv_id, user.company_id)
    if inv.buyer_company_id != user.company_id:
        raise NotFound(_l("No such invoice."))
    return inv


def _match_dict(inv: Invoice) -> dict:
    m = matching.match_for(inv)
    return {"invoice_id": inv.id, "status": m.status.value if m else None, "exceptions": m.exceptions if m else [],
            "checked_at": ts(m.checked_at) if m else None, "auto_approved": bool(m and m.auto_approved),
            "approved_for_payment_at": ts(inv.approved_for_payment_at), "disputed": inv.disputed_at is not None,
            "lock_version": inv.lock_version}


@bp.route("/invoices/<int(max=2147483647):inv_id>/approve", methods=["POST"])
@bp.arguments(ApproveIn)
@bp.response(200, MatchOut)
def approve_invoice(data, inv_id):
    """Buyer accounts: approve a received invoice for payment. Within your tolerances (or covered by credit notes)
    it is approved as it is; outside them it needs `despite_mismatches` and a comment."""
    inv = _buyer_invoice(inv_id)
    matching.approve(inv, actor(), lock_or_current(inv, data.get("lock_version")),
                     despite_mismatches=data["despite_mismatches"], comment=data["comment"])
    db.session.expire_all()
    return _match_dict(db.session.get(Invoice, inv.id))


@bp.route("/invoices/<int(max=2147483647):inv_id>/match", methods=["GET"])
@bp.response(200, MatchOut)
def get_match(inv_id):
    """Buyer accounts: the latest automatic match of a received invoice with its exceptions and figures."""
    return _match_dict(_buyer_invoice(inv_id))


@bp.route("/invoices/<int(max=2147483647):inv_id>/match", methods=["POST"])
@bp.response(200, MatchOut)
def rerun_match(inv_id):
    """Buyer accounts: check the match again with today's receipts and tolerances."""
    inv = _buyer_invoice(inv_id)
    matching.run_match(inv.id, actor())
    db.session.expire_all()
    return _match_dict(db.session.get(Invoice, inv.id))


# --------------------------------------------------------------------------------------------- tolerances

class TolerancesSchema(Schema):
    price_tolerance_percent = DecimalString(required=True)
    price_tolerance_amount = DecimalString(required=True)
    quantity_tolerance_percent = DecimalString(required=True)
    total_tolerance_percent = DecimalString(required=True)
    total_tolerance_amount = DecimalString(required=True)
    auto_approve = fields.Boolean(required=True)
    lock_version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**31 - 1))


def _tolerances(s) -> dict:
    return {k: plain(getattr(s, k)) for k in ("price_tolerance_percent", "price_tolerance_amount",
                                                "quantity_tolerance_percent", "total_tolerance_percent",
                                                "total_tolerance_amount")} | {
        "auto_approve": bool(s.auto_approve), "lock_version": s.lock_version}


@bp.route("/payables/tolerances", methods=["GET"])
@bp.response(200, TolerancesSchema)
def get_tolerances():
    """Your company's matching tolerances (percent and absolute per line, quantity, total) and auto-approval."""
    return _tolerances(matching.settings_for(_accounts().company_id))


@bp.route("/payables/tolerances", methods=["PUT"])
@bp.arguments(TolerancesSchema)
@bp.response(200, TolerancesSchema)
def put_tolerances(data):
    """Set the tolerances; negative or absurd values (over 50 %, over 100,000) are refused with a sentence."""
    user = _accounts()
    lv = data.pop("lock_version", None)
    s = matching.save_settings(user, lock_or_current(None, lv), **{k: str(v) if k != "auto_approve" else v
                                                                 for k, v in data.items()})
    return _tolerances(s)


class DiscountIn(Schema):
    supplier_company_id = BoundedInt(required=True)
    discount_percent = DecimalString(required=True, allow_none=True,
                                     metadata={"description": "e.g. \"2\"; null or \"0\" removes the terms"})
    discount_days = fields.Integer(load_default=None, allow_none=True)


class DiscountOut(Schema):
    supplier_company_id = fields.Integer()
    supplier_name = fields.String()
    discount_percent = DecimalString(allow_none=True)
    discount_days = fields.Integer()


@bp.route("/payables/cash-discounts", methods=["GET"])
@bp.response(200, DiscountOut(many=True))
def list_discounts():
    """The cash discount terms your suppliers grant you (e.g. 2 % within 10 days)."""
    return _discounts(_accounts())


@bp.route("/payables/cash-discounts", methods=["POST"])
@bp.arguments(DiscountIn)
@bp.response(200, DiscountOut(many=True))
def set_discount(data):
    """Record (or remove) a supplier's cash discount terms."""
    user = _accounts()
    pct = data.get("discount_percent")
    matching.set_discount_terms(user, data["supplier_company_id"], percent=None if pct is None else str(pct),
                                days=data.get("discount_days"))
    return _discounts(user)


def _discounts(user):
    return [{"supplier_company_id": t.supplier_company_id, "supplier_name": t.supplier.display_name,
             "discount_percent": plain(t.discount_percent), "discount_days": t.discount_days}
            for t in matching.discount_terms(user.company_id)]


# --------------------------------------------------------------------------------------------- disputes

class DisputeIn(LockArgs):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    invoice_line_id = BoundedInt(load_default=None, allow_none=True,
                                 metadata={"description": "a line of the invoice; omit to dispute it whole"})


class TextIn(LockArgs):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class OptionalTextIn(LockArgs):
    text = fields.String(load_default="", validate=validate.Length(max=2000))


class ResolveIn(LockArgs):
    credit_note_id = BoundedInt(required=True)
    text = fields.String(load_default="", validate=validate.Length(max=2000))


class DisputeEventOut(Schema):
    kind = fields.String()
    text = fields.String()
    company_id = fields.Integer()
    at = fields.DateTime()


class DisputeOut(Schema):
    id = fields.Integer()
    invoice_id = fields.Integer()
    invoice_number = fields.String()
    invoice_line_id = fields.Integer(allow_none=True)
    buyer_company_id = fields.Integer()
    supplier_company_id = fields.Integer()
    status = fields.String()
    reason = fields.String()
    credit_note_id = fields.Integer(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    lock_version = fields.Integer()
    events = fields.List(fields.Nested(DisputeEventOut))


def _dispute_dict(d: Dispute) -> dict:
    return {"id": d.id, "invoice_id": d.invoice_id, "invoice_number": d.invoice.number,
            "invoice_line_id": d.invoice_line_id, "buyer_company_id": d.buyer_company_id,
            "supplier_company_id": d.supplier_company_id, "status": d.status.value, "reason": d.reason,
            "credit_note_id": d.credit_note_id, "closed_at": ts(d.closed_at), "lock_version": d.lock_version,
            "events": [{"kind": e.kind, "text": e.text, "company_id": e.company_id, "at": ts(e.at)} for e in d.events]}


def _dispute(d_id) -> Dispute:
    user = _accounts()
    return get_for_company(Dispute, d_id, user.company_id)


def _fresh_dispute(d_id) -> dict:
    db.session.expire_all()
    return _dispute_dict(db.session.get(Dispute, d_id))


@bp.route("/invoices/<int(max=2147483647):inv_id>/disputes", methods=["POST"])
@idempotent
@bp.arguments(DisputeIn)
@bp.response(201, DisputeOut)
@created("api_payables.get_dispute", d_id="id")
def open_dispute(data, inv_id):
    """Buyer accounts: dispute a received invoice (whole or one line) with a reason. The supplier is notified; the
    invoice is not due while the dispute is open."""
    inv = _buyer_invoice(inv_id)
    d = dispute_services.open_dispute(inv, actor(), lock_or_current(inv, data.get("lock_version")),
                                      reason=data["reason"], invoice_line_id=data.get("invoice_line_id"))
    return _fresh_dispute(d.id)


class DisputeQuery(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "closed"]))


@bp.route("/disputes", methods=["GET"])
@bp.arguments(DisputeQuery, location="query", as_kwargs=True)
@bp.response(200, paged_schema(DisputeOut, "DisputePage"))
def list_disputes(page, per_page, status=None):
    """Disputes your company opened (buyer) or received (supplier), newest first."""
    import sqlalchemy as sa

    from portal.payables.states import DisputeStatus

    user = _accounts()
    stmt = sa.select(Dispute).where(Dispute.visible_to(user.company_id))
    if status == "open":
        stmt = stmt.where(Dispute.status.in_([DisputeStatus.open, DisputeStatus.answered]))
    elif status == "closed":
        stmt = stmt.where(Dispute.status.in_([DisputeStatus.resolved, DisputeStatus.withdrawn]))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.options(selectinload(Dispute.invoice), selectinload(Dispute.events))
                              .order_by(Dispute.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return page_envelope([_dispute_dict(d) for d in rows], total, page, per_page, "api_payables.list_disputes")


@bp.route("/disputes/<int(max=2147483647):d_id>", methods=["GET"])
@bp.response(200, DisputeOut)
def get_dispute(d_id):
    """One dispute with its history."""
    return _dispute_dict(_dispute(d_id))


@bp.route("/disputes/<int(max=2147483647):d_id>/answer", methods=["POST"])
@bp.arguments(TextIn)
@bp.response(200, DisputeOut)
def answer_dispute(data, d_id):
    """Supplier accounts: answer a dispute."""
    d = _dispute(d_id)
    dispute_services.answer(d, actor(), lock_or_current(d, data.get("lock_version")), text=data["text"])
    return _fresh_dispute(d.id)


@bp.route("/disputes/<int(max=2147483647):d_id>/reply", methods=["POST"])
@bp.arguments(TextIn)
@bp.response(200, DisputeOut)
def reply_dispute(data, d_id):
    """Buyer accounts: reply to the supplier's answer."""
    d = _dispute(d_id)
    dispute_services.reply(d, actor(), lock_or_current(d, data.get("lock_version")), text=data["text"])
    return _fresh_dispute(d.id)


@bp.route("/disputes/<int(max=2147483647):d_id>/withdraw", methods=["POST"])
@bp.arguments(OptionalTextIn)
@bp.response(200, DisputeOut)
def withdraw_dispute(data, d_id):
    """Buyer accounts: withdraw the dispute (the invoice is due again)."""
    d = _dispute(d_id)
    dispute_services.withdraw(d, actor(), lock_or_current(d, data.get("lock_version")), text=data["text"])
    return _fresh_dispute(d.id)


@bp.route("/disputes/<int(max=2147483647):d_id>/resolve", methods=["POST"])
@bp.arguments(ResolveIn)
@bp.response(200, DisputeOut)
def resolve_dispute(data, d_id):
    """Supplier accounts: resolve with a credit note already issued against the invoice (POST /credit-notes)."""
    d = _dispute(d_id)
    dispute_services.resolve(d, actor(), lock_or_current(d, data.get("lock_version")),
                             credit_note_id=data["credit_note_id"], text=data["text"])
    return _fresh_dispute(d.id)


# --------------------------------------------------------------------------------------------- payment runs

class RunIn(Schema):
    due_by = fields.Date(load_default=None, allow_none=True,
                         metadata={"description": "approved, undisputed invoices due by this date (or whose cash "
                                                  "discount ends by it)"})
    invoice_ids = fields.List(BoundedInt(), load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=runs.MAX_IDS))
    execution_date = fields.Date(load_default=None, allow_none=True,
                                 metadata={"description": "requested of the bank; default today"})


class ExecutedIn(LockArgs):
    executed_on = fields.Date(required=True)


class RunItemOut(Schema):
    invoice_id = fields.Integer()
    invoice_number = fields.String()
    supplier_company_id = fields.Integer()
    state = fields.String(metadata={"description": "included, apart (not EUR: pay separately), dropped (see note), "
                                                   "released (run cancelled)"})
    open_amount = fields.Nested(MoneyOut)
    discount = fields.Nested(MoneyOut)
    discount_percent = DecimalString(allow_none=True)
    pay_amount = fields.Nested(MoneyOut)
    note = fields.String()


class RunLinks(Schema):
    self = fields.String()
    sepa = fields.String(allow_none=True)


class RunOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    status = fields.String()
    currency = fields.String()
    due_by = fields.Date(allow_none=True)
    execution_date = fields.Date()
    total_amount = fields.Nested(MoneyOut)
    total_discount = fields.Nested(MoneyOut)
    created_by_id = fields.Integer()
    approved_by_id = fields.Integer(allow_none=True)
    exported_at = fields.DateTime(allow_none=True)
    executed_on = fields.Date(allow_none=True)
    message_id = fields.String(allow_none=True)
    lock_version = fields.Integer()
    notes = fields.List(fields.String(), metadata={"description": "what was dropped by this call, in sentences"})
    items = fields.List(fields.Nested(RunItemOut))
    links = fields.Nested(RunLinks)


def _run_dict(run: PaymentRun, notes=()) -> dict:
    from flask import url_for

    cur = run.currency
    return {"id": run.id, "reference": run.reference, "status": run.status.value, "currency": cur,
            "due_by": run.due_by, "execution_date": run.execution_date,
            "total_amount": money(run.total_amount, cur), "total_discount": money(run.total_discount, cur),
            "created_by_id": run.created_by_id, "approved_by_id": run.approved_by_id,
            "exported_at": ts(run.exported_at), "executed_on": run.executed_on, "message_id": run.message_id,
            "lock_version": run.lock_version, "notes": list(notes),
            "items": [{"invoice_id": i.invoice_id, "invoice_number": i.invoice.number,
                       "supplier_company_id": i.supplier_company_id, "state": i.state.value,
                       "open_amount": money(i.open_amount, i.currency), "discount": money(i.discount_amount, i.currency),
                       "discount_percent": plain(i.discount_percent), "pay_amount": money(i.pay_amount, i.currency),
                       "note": i.note or ""} for i in run.items],
            "links": {"self": url_for("api_payables.get_run", run_id=run.id),
                      "sepa": url_for("api_payables.run_sepa", run_id=run.id) if run.sepa_file_id else None}}


def _run(run_id, *roles) -> PaymentRun:
    user = _accounts(*roles)
    return runs.load(run_id, user.company_id)


def _fresh_run(run_id, notes=()) -> dict:
    db.session.expire_all()
    return _run_dict(db.session.get(PaymentRun, run_id), notes)


@bp.route("/payment-runs", methods=["GET"])
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, paged_schema(RunOut, "PaymentRunPage"))
def list_runs(page, per_page):
    """Your company's payment runs, newest first."""
    import sqlalchemy as sa

    user = _accounts(Role.accounts, Role.approver, Role.admin)
    stmt = sa.select(PaymentRun).where(PaymentRun.buyer_company_id == user.company_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.options(selectinload(PaymentRun.items)).order_by(PaymentRun.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    return page_envelope([_run_dict(r) for r in rows], total, page, per_page, "api_payables.list_runs")


@bp.route("/payment-runs", methods=["POST"])
@idempotent
@bp.arguments(RunIn)
@bp.response(201, RunOut)
@created("api_payables.get_run", run_id="id")
def create_run(data):
    """Buyer accounts: build a draft run of approved, undisputed invoices due by `due_by` (cash discounts applied
    where the supplier's terms allow) or of `invoice_ids` (what cannot be paid is dropped with a sentence).
    Non-EUR invoices are listed apart. An invoice already in another run is refused (409)."""
    user = _accounts()
    run = runs.build_run(user, due_by=data.get("due_by"), invoice_ids=data.get("invoice_ids"),
                         execution_date=data.get("execution_date"))
    return _fresh_run(run.id, [i.note for i in run.items if i.state == ItemState.dropped])


@bp.route("/payment-runs/<int(max=2147483647):run_id>", methods=["GET"])
@bp.response(200, RunOut)
def get_run(run_id):
    """One payment run with its items."""
    return _run_dict(_run(run_id, Role.accounts, Role.approver, Role.admin))


@bp.route("/payment-runs/<int(max=2147483647):run_id>/approve", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, RunOut)
def approve_run(data, run_id):
    """Approve a draft run (not by the person who built it); invoices paid or disputed meanwhile are dropped and
    named in `notes`."""
    run = _run(run_id, Role.accounts, Role.approver, Role.admin)
    run, notes = runs.approve_run(run, actor(), lock_or_current(run, data.get("lock_version")))
    return _fresh_run(run.id, notes)


@bp.route("/payment-runs/<int(max=2147483647):run_id>/export", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, RunOut)
def export_run(data, run_id):
    """Produce the run's SEPA file (once; a second export is 409). Download it from `links.sepa`."""
    run = _run(run_id, Role.accounts, Role.approver, Role.admin)
    run, notes = runs.export_run(run, actor(), lock_or_current(run, data.get("lock_version")))
    return _fresh_run(run.id, notes)


@bp.route("/payment-runs/<int(max=2147483647):run_id>/sepa", methods=["GET"])
@bp.doc(responses={"200": {"description": "The stored pain.001.001.09 file.",
                            "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
                            "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}}})
def run_sepa(run_id):
    """The exported SEPA credit transfer file (pain.001.001.09) exactly as stored; 409 before export."""
    run = _run(run_id, Role.accounts, Role.approver, Role.admin)
    data = runs.sepa_bytes(run)
    return Response(data, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{run.reference}.xml"'})


@bp.route("/payment-runs/<int(max=2147483647):run_id>/execution", methods=["POST"])
@bp.arguments(ExecutedIn)
@bp.response(200, RunOut)
def confirm_execution(data, run_id):
    """Buyer accounts: confirm the date the bank executed the run; its invoices are paid and every supplier
    receives a remittance advice."""
    run = _run(run_id)
    runs.confirm_execution(run, actor(), lock_or_current(run, data.get("lock_version")),
                           executed_on=data["executed_on"])
    return _fresh_run(run.id)


@bp.route("/payment-runs/<int(max=2147483647):run_id>/cancel", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, RunOut)
def cancel_run(data, run_id):
    """Cancel a run before export; its invoices are free again."""
    run = _run(run_id, Role.accounts, Role.approver, Role.admin)
    runs.cancel_run(run, actor(), lock_or_current(run, data.get("lock_version")))
    return _fresh_run(run.id)


# --------------------------------------------------------------------------------------------- remittances

class AdviceLineOut(Schema):
    invoice_id = fields.Integer()
    number = fields.String()
    gross = DecimalString()
    credited = DecimalString()
    paid_before = DecimalString()
    open = DecimalString()
    discount = DecimalString()
    discount_percent = DecimalString(allow_none=True)
    paid = DecimalString()
    open_now = DecimalString()
    ok = fields.Boolean(metadata={"description": "false: the invoice's open amount no longer matches (mismatch)"})
    credit_notes = fields.List(fields.Dict())


class AdviceOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    run_id = fields.Integer()
    buyer_company_id = fields.Integer()
    supplier_company_id = fields.Integer()
    amount = fields.Nested(MoneyOut)
    discount_total = fields.Nested(MoneyOut)
    paid_on = fields.Date()
    status = fields.String()
    reconciled_at = fields.DateTime(allow_none=True)
    pdf_ready = fields.Boolean()
    lock_version = fields.Integer()
    lines = fields.List(fields.Nested(AdviceLineOut))


def _advice_dict(a: RemittanceAdvice, invoices=None) -> dict:
    return {"id": a.id, "reference": a.reference, "run_id": a.run_id, "buyer_company_id": a.buyer_company_id,
            "supplier_company_id": a.supplier_company_id, "amount": money(a.amount, a.currency),
            "discount_total": money(a.discount_total, a.currency), "paid_on": a.paid_on, "status": a.status.value,
            "reconciled_at": ts(a.reconciled_at), "pdf_ready": a.pdf_file_id is not None,
            "lock_version": a.lock_version,
            "lines": [{k: v for k, v in ln.items() if k not in ("issue_date", "buyer_reference")}
                      for ln in remittance.compare(a, invoices)]}


def _advice(a_id) -> RemittanceAdvice:
    user = _accounts()
    return get_for_company(RemittanceAdvice, a_id, user.company_id)


@bp.route("/remittances", methods=["GET"])
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, paged_schema(AdviceOut, "RemittancePage"))
def list_remittances(page, per_page):
    """Remittance advices your company sent (buyer) or received (supplier), newest first."""
    import sqlalchemy as sa

    user = _accounts()
    stmt = sa.select(RemittanceAdvice).where(RemittanceAdvice.visible_to(user.company_id))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(RemittanceAdvice.id.desc()).offset((page - 1) * per_page)
                              .limit(per_page)).all()
    invoices = remittance.invoices_of(rows)  # one statement for the page, not one per advice
    return page_envelope([_advice_dict(a, invoices) for a in rows], total, page, per_page,
                         "api_payables.list_remittances")


@bp.route("/remittances/<int(max=2147483647):a_id>", methods=["GET"])
@bp.response(200, AdviceOut)
def get_remittance(a_id):
    """One remittance advice, each line compared with the invoice's open amount now."""
    return _advice_dict(_advice(a_id))


@bp.route("/remittances/<int(max=2147483647):a_id>/reconcile", methods=["POST"])
@bp.arguments(LockArgs)
@bp.response(200, AdviceOut)
def reconcile_remittance(data, a_id):
    """Supplier accounts: the money arrived — the advice becomes the payments on its invoices (all or nothing;
    a mismatch is 422 naming the invoices)."""
    a = _advice(a_id)
    remittance.reconcile(a, actor(), lock_or_current(a, data.get("lock_version")))
    db.session.expire_all()
    return _advice_dict(db.session.get(RemittanceAdvice, a.id))


@bp.route("/remittances/<int(max=2147483647):a_id>/pdf", methods=["GET"])
@bp.doc(responses={"200": {"description": "The remittance advice PDF.",
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                            "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}}})
@problems(409)
def remittance_pdf(a_id):
    """The advice's PDF once rendered (409 while it is being rendered)."""
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes
    from portal.errors import Conflict

    a = _advice(a_id)
    if a.pdf_file_id is None:
        raise Conflict(_l("The PDF is being rendered; try again in a moment."))
    f = db.session.get(StoredFile, a.pdf_file_id)
    return Response(read_bytes(f), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})
