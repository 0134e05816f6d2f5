"""Cost centres, GL accounts, cost defaults, the company's requisition settings and budgets: kept by the buying
company's administrators. One service call = one commit; bad input raises ValidationFailed, nothing saved.

Budgets: one per cost centre and period (a month, a quarter or a year, starting on the period's first day), in
the company currency; periods of one cost centre never overlap (``save_budget`` locks the cost-centre row, so two
concurrent saves of overlapping periods cannot both pass the check). Their figures: portal/budgets/figures.py.
"""
from __future__ import annotations

import functools
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import Role, User
from portal.audit.services import record
from portal.budgets.models import (
    Budget,
    BudgetMode,
    BudgetSettings,
    CostCentre,
    CostDefault,
    GlAccount,
    PeriodKind,
)
from portal.db import MAX_AMOUNT, db
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.i18n import _l
from portal.notifications import messages as words
from portal.locking import lock_checked, lock_row
from portal.money import quantize, to_decimal
from portal.tenancy import get_for_company

MAX_CODE = 32
MAX_NAME = 120


def unit_of_work_with(stale: str, race: str):
    """A decorator: commit once when the function returns; roll back on any error; a stale row (``stale``) or a
    lost race on a unique constraint (``race``) is a Conflict sentence."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except StaleDataError as exc:
                db.session.rollback()
                raise Conflict(stale) from exc
            except sa.exc.IntegrityError as exc:
                db.session.rollback()
                raise Conflict(race) from exc
            except BaseException:
                db.session.rollback()
                raise

        return wrapper

    return decorate


unit_of_work = unit_of_work_with(_l("This was changed by someone else since you opened the page; reload and try "
                                    "again."),
                                 _l("Someone else saved the same code at the same moment; reload the page."))


def require_admin(actor: User) -> None:
    if not actor.company.is_buyer or not actor.has_role(Role.admin):
        raise Forbidden(_l("Only an administrator of a buying company keeps cost centres, GL accounts and budgets."))


def _text(value, label: str, limit: int, field: str, errors: dict, *, required=True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        errors[field] = f"Enter the {label}."
    elif len(text) > limit:
        errors[field] = f"The {label} is too long; at most {limit} characters."
    return text


def _raise(errors: dict) -> None:
    if errors:
        sentences = list(dict.fromkeys(errors.values()))
        raise ValidationFailed(" ".join(sentences), errors=errors)


# --------------------------------------------------------------------------------------------- settings

def settings_for(company_id: int) -> BudgetSettings:
    row = db.session.get(BudgetSettings, company_id)
    return row or BudgetSettings(company_id=company_id, cost_centre_required=False, budget_mode=BudgetMode.warn)


@unit_of_work
def save_settings(actor: User, *, cost_centre_required: bool, budget_mode) -> BudgetSettings:
    require_admin(actor)
    try:
        mode = BudgetMode(str(budget_mode))
    except ValueError:
        raise ValidationFailed(_l("Choose warn or block for budgets that would be exceeded."),
                               errors={"budget_mode": _l("warn or block")})
    row = db.session.get(BudgetSettings, actor.company_id)
    if row is None:
        row = BudgetSettings(company_id=actor.company_id)
        db.session.add(row)
    row.cost_centre_required = bool(cost_centre_required)
    row.budget_mode = mode
    record("company", actor.company_id, "budget_settings", actor=actor, company_id=actor.company_id,
           detail=f"cost centre required: {'yes' if row.cost_centre_required else 'no'}; over budget: {mode.value}")
    return row


# --------------------------------------------------------------------------------------------- master data

def cost_centres(company_id: int, *, active_only: bool = False) -> list[CostCentre]:
    stmt = sa.select(CostCentre).where(CostCentre.company_id == company_id).order_by(CostCentre.code)
    if active_only:
        stmt = stmt.where(CostCentre.active.is_(True))
    return list(db.session.scalars(stmt))


def gl_accounts(company_id: int, *, active_only: bool = False) -> list[GlAccount]:
    stmt = sa.select(GlAccount).where(GlAccount.company_id == company_id).order_by(GlAccount.code)
    if active_only:
        stmt = stmt.where(GlAccount.active.is_(True))
    return list(db.session.scalars(stmt))


def cost_centre_of(company_id: int, cc_id) -> CostCentre:
    """The company's cost centre with this id; another company's id is NotFound (404)."""
    return get_for_company(CostCentre, cc_id, company_id)


def gl_account_of(company_id: int, gl_id) -> GlAccount:
    return get_for_company(GlAccount, gl_id, company_id)


def _member(company_id: int, user_id) -> User:
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("Choose the cost centre's owner."), errors={"owner_id": _l("Choose a person.")})
    user = db.session.get(User, uid) if 0 < uid <= 2**31 - 1 else None
    if user is None or user.company_id != company_id:
        raise NotFound(_l("No such person."))
    if not user.active:
        raise ValidationFailed(_l("%(name)s is deactivated; choose an active owner."), name=user.name,
                               errors={"owner_id": _l("Choose an active person.")})
    return user


def _save_coded(model, label: str, actor: User, row_id, code, name, **values):
    """Create or change a cost centre or GL account: code unique per company (case-insensitive)."""
    errors: dict = {}
    code = _text(code, "code", MAX_CODE, "code", errors)
    name = _text(name, "name", MAX_NAME, "name", errors)
    _raise(errors)
    if row_id is None:
        row = model(company_id=actor.company_id)
    else:
        row = lock_row(model, row_id, where=(model.company_id == actor.company_id,), not_found=f"No such {label}.")
    clash = db.session.scalar(sa.select(model.id).where(model.company_id == actor.company_id,
                                                       sa.func.lower(model.code) == code.lower(),
                                                       model.id != (row.id or 0)))
    if clash:
        raise ValidationFailed(_l("There is already a %(label)s %(code)s."), label=label, code=code,
                               errors={"code": _l("Already used.")})
    row.code, row.name = code, name
    for key, value in values.items():
        setattr(row, key, value)
    db.session.add(row)
    db.session.flush()
    record(model.__tablename__[:-1], row.id, "saved", actor=actor, company_id=actor.company_id,
           detail=f"{code} {name}" + ("" if row.active else " (not in use)"))
    return row


@unit_of_work
def save_cost_centre(actor: User, *, code, name, owner_id, active: bool = True, cc_id=None) -> CostCentre:
    require_admin(actor)
    owner = _member(actor.company_id, owner_id)
    return _save_coded(CostCentre, "cost centre", actor, cc_id, code, name, owner_id=owner.id, active=bool(active))


@unit_of_work
def save_gl_account(actor: User, *, code, name, active: bool = True, gl_id=None) -> GlAccount:
    require_admin(actor)
    return _save_coded(GlAccount, "GL account", actor, gl_id, code, name, active=bool(active))


# --------------------------------------------------------------------------------------------- defaults

def cost_defaults(company_id: int) -> list[CostDefault]:
    return list(db.session.scalars(sa.select(CostDefault).where(CostDefault.company_id == company_id)
                                   .order_by(CostDefault.category, CostDefault.user_id)))


def default_for(company_id: int, *, category: str | None = None, user_id: int | None = None,
                rows: list[CostDefault] | None = None) -> tuple[int | None, int | None]:
    """(cost centre id, GL account id) for a new line: the category's default, else the user's."""
    rows = cost_defaults(company_id) if rows is None else rows
    cat = (category or "").strip().lower()
    by_cat = next((r for r in rows if cat and r.category and r.category.lower() == cat), None)
    by_user = next((r for r in rows if user_id and r.user_id == user_id), None)
    cc = (by_cat.cost_centre_id if by_cat else None) or (by_user.cost_centre_id if by_user else None)
    gl = (by_cat.gl_account_id if by_cat else None) or (by_user.gl_account_id if by_user else None)
    return cc, gl


@unit_of_work
def save_default(actor: User, *, category=None, user_id=None, cost_centre_id=None, gl_account_id=None) -> CostDefault:
    require_admin(actor)
    category = " ".join(str(category or "").split()) or None
    if (category is None) == (user_id in (None, "")):
        raise ValidationFailed(_l("A default is for either a catalog category or a person."),
                               errors={"category": _l("Enter a category or choose a person.")})
    if category and len(category) > 100:
        raise ValidationFailed(_l("The category is too long; at most 100 characters."))
    user = _member(actor.company_id, user_id) if category is None else None
    cc = cost_centre_of(actor.company_id, cost_centre_id) if cost_centre_id not in (None, "") else None
    gl = gl_account_of(actor.company_id, gl_account_id) if gl_account_id not in (None, "") else None
    if cc is None and gl is None:
        raise ValidationFailed(_l("Choose a cost centre or a GL account for the default."),
                               errors={"cost_centre_id": _l("Choose one.")})
    where = (CostDefault.category == category) if category else (CostDefault.user_id == user.id)
    row = db.session.scalar(sa.select(CostDefault).where(CostDefault.company_id == actor.company_id, where))
    if row is None:
        row = CostDefault(company_id=actor.company_id, category=category, user_id=user.id if user else None)
        db.session.add(row)
    row.cost_centre_id = cc.id if cc else None
    row.gl_account_id = gl.id if gl else None
    db.session.flush()
    record("cost_default", row.id, "saved", actor=actor, company_id=actor.company_id,
           detail=f"{'category ' + category if category else user.name}: {cc.code if cc else '—'} / "
                  f"{gl.code if gl else '—'}")
    return row


@unit_of_work
def delete_default(actor: User, default_id) -> None:
    require_admin(actor)
    row = get_for_company_default(actor.company_id, default_id)
    db.session.delete(row)


def get_for_company_default(company_id: int, default_id) -> CostDefault:
    try:
        did = int(default_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such default."))
    row = db.session.get(CostDefault, did) if 0 < did <= 2**31 - 1 else None
    if row is None or row.company_id != company_id:
        raise NotFound(_l("No such default."))
    return row


# --------------------------------------------------------------------------------------------- budgets

def period_end(kind: PeriodKind, start: date) -> date:
    months = {PeriodKind.month: 1, PeriodKind.quarter: 3, PeriodKind.year: 12}[kind]
    y, m = divmod(start.month - 1 + months, 12)
    return date(start.year + y, m + 1, 1) - timedelta(days=1)


def period_label(kind: PeriodKind, start: date) -> str:
    if kind == PeriodKind.month:
        return start.strftime("%Y-%m")
    if kind == PeriodKind.quarter:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _period(kind_text, start_value) -> tuple[PeriodKind, date, date]:
    try:
        kind = PeriodKind(str(kind_text))
    except ValueError:
        raise ValidationFailed(_l("Choose a period: month, quarter or year."),
                               errors={"period_kind": _l("Choose one.")})
    if isinstance(start_value, date):
        start = start_value
    else:
        try:
            start = date.fromisoformat(str(start_value or "").strip())
        except ValueError:
            raise ValidationFailed(_l("Enter the period's first day as YYYY-MM-DD."),
                                   errors={"period_start": _l("YYYY-MM-DD")})
    ok = start.day == 1 and (kind == PeriodKind.month or
                             (kind == PeriodKind.quarter and start.month in (1, 4, 7, 10)) or
                             (kind == PeriodKind.year and start.month == 1))
    if not ok:
        what = {PeriodKind.month: "the first day of a month", PeriodKind.quarter:
                "the first day of a quarter (1 January, 1 April, 1 July or 1 October)",
                PeriodKind.year: "1 January"}[kind]
        raise ValidationFailed(_l("A %(value)s budget starts on %(what)s."), value=kind.value, what=what,
                               errors={"period_start": what})
    return kind, start, period_end(kind, start)


def budgets_of(company_id: int, *, cost_centre_id: int | None = None) -> list[Budget]:
    stmt = (sa.select(Budget).where(Budget.company_id == company_id)
            .join(CostCentre, CostCentre.id == Budget.cost_centre_id)
            .order_by(Budget.period_start.desc(), CostCentre.code, Budget.id))
    if cost_centre_id is not None:
        stmt = stmt.where(Budget.cost_centre_id == cost_centre_id)
    return list(db.session.scalars(stmt).unique())


@unit_of_work
def save_budget(actor: User, *, cost_centre_id, period_kind, period_start, amount, budget_id=None,
                lock_version=None) -> Budget:
    """Create or change a budget. Overlapping periods of the same cost centre are refused; the cost-centre row
    is locked first so two concurrent saves cannot both pass the check."""
    require_admin(actor)
    kind, start, end = _period(period_kind, period_start)
    value = to_decimal(amount, "Amount", places=2)
    if value < 0 or value > MAX_AMOUNT:
        raise ValidationFailed(_l("The budget amount must be 0 or more."), errors={"amount": _l("0 or more.")})
    cost_centre_of(actor.company_id, cost_centre_id)  # 404 for another company's
    cc = lock_row(CostCentre, cost_centre_id, where=(CostCentre.company_id == actor.company_id,))
    if budget_id is not None:
        budget = lock_checked(Budget, budget_id, lock_version, _l("This budget was changed since you opened it; "
                                                                  "reload the page."), required=False, where=(Budget.company_id == actor.company_id,),
                              not_found=_l("No such budget."))
    else:
        budget = None
    overlap = db.session.scalar(sa.select(Budget).where(
        Budget.cost_centre_id == cc.id, Budget.period_start <= end, Budget.period_end >= start,
        Budget.id != (budget.id if budget else 0)).limit(1))
    if overlap is not None:
        raise ValidationFailed(
            _l("Cost centre %(code)s already has a budget for %(period_label)s (%(period_start)s to "
               "%(period_end)s), which overlaps %(period_label2)s. Change that budget instead."),
            code=cc.code, period_label=period_label(overlap.period_kind, overlap.period_start), period_start=overlap.period_start.isoformat(), period_end=overlap.period_end.isoformat(), period_label2=period_label(kind, start),
            errors={"period_start": _l("Overlaps.")})
    if budget is None:
        budget = Budget(company_id=actor.company_id, currency=actor.company.default_currency)
        db.session.add(budget)
    budget.cost_centre_id = cc.id
    budget.period_kind, budget.period_start, budget.period_end = kind, start, end
    budget.amount = quantize(value, budget.currency or actor.company.default_currency)
    db.session.flush()
    record("budget", budget.id, "saved", actor=actor, company_id=actor.company_id,
           detail=f"{cc.code} {period_label(kind, start)}: {budget.amount} {budget.currency}")
    return budget


@unit_of_work
def delete_budget(actor: User, budget_id) -> None:
    require_admin(actor)
    budget = lock_row(Budget, budget_id, where=(Budget.company_id == actor.company_id,), not_found=_l("No such budget."))
    record("budget", budget.id, "deleted", actor=actor, company_id=actor.company_id,
           detail=f"{budget.cost_centre.code} {period_label(budget.period_kind, budget.period_start)}")
    db.session.delete(budget)


ZERO = Decimal(0)


# --------------------------------------------------------------------------------------------- order lines

def set_order_costs(actor: User, order_id, expected_lock_version, costs: dict):
    """Cost centre and GL account per line of a draft order: ``costs`` {line id: {"cost_centre_id",
    "gl_account_id"}} (empty = none). The order row is locked (lock order: the order first)."""
    from portal.orders.core import (
        BUYER_ROLES,
        check_fresh,
        commit,
        lock_order,
        require_buyer,
    )
    from portal.orders.models import PurchaseOrder
    from portal.orders.states import OrderStatus

    try:
        get_for_company(PurchaseOrder, order_id, actor.company_id)
        order = lock_order(order_id, actor)
        require_buyer(order, actor, roles=BUYER_ROLES)
        check_fresh(order, expected_lock_version)
        if order.status not in (OrderStatus.draft, OrderStatus.awaiting_approval):
            raise ValidationFailed(_l("Cost centres and GL accounts are set while the order is a draft."))
        lines = {str(ln.id): ln for ln in order.lines}
        for key in costs:
            if str(key) not in lines:
                raise NotFound(_l("No such order line."))
        for key, values in costs.items():
            line = lines[str(key)]
            cc_id, gl_id = values.get("cost_centre_id"), values.get("gl_account_id")
            line.cost_centre_id = cost_centre_of(actor.company_id, cc_id).id if str(cc_id or "").strip() else None
            line.gl_account_id = gl_account_of(actor.company_id, gl_id).id if str(gl_id or "").strip() else None
        record("order", order.id, "cost_centres", actor=actor, company_id=actor.company_id,
               detail=words.msg(_l("cost centres and GL accounts set")), visible_to_company_id=order.buyer_company_id)
        from sqlalchemy.orm.attributes import flag_modified

        flag_modified(order, "status")  # a new version: forms opened before are stale
        commit()
        return order
    except BaseException:
        db.session.rollback()
        raise


def spend_by(company_id: int, currency: str, dimension: str, date_from: date, date_to: date) -> list[dict]:
    """Approved-invoice spend (actual) per cost centre or GL account for invoice dates in [from, to], in
    ``currency`` (the company's; invoices in another currency converted per line like the budget figures, left out
    without a rate): one statement. Lines without the dimension are one row with code None."""
    from portal.budgets.figures import converted_by, in_range, rate_ranges
    from portal.invoices.models import DocumentKind, Invoice, InvoiceLine

    model, column = ((CostCentre, InvoiceLine.cost_centre_id) if dimension == "cost_centre"
                     else (GlAccount, InvoiceLine.gl_account_id))
    rates = rate_ranges(company_id)
    amount = converted_by(rates, currency, InvoiceLine.net_amount, Invoice.currency)
    stmt = (sa.select(model.code, model.name, sa.func.sum(amount), sa.func.count(InvoiceLine.id))
            .select_from(InvoiceLine).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .outerjoin(rates, in_range(rates, Invoice.currency, Invoice.issue_date))
            .outerjoin(model, model.id == column)
            .where(Invoice.buyer_company_id == company_id, Invoice.kind == DocumentKind.invoice,
                   Invoice.approved_for_payment_at.is_not(None), amount.is_not(None),
                   Invoice.issue_date >= date_from, Invoice.issue_date <= date_to)
            .group_by(model.code, model.name).order_by(sa.func.sum(amount).desc()))
    return [{"code": code, "name": name, "amount": quantize(Decimal(str(total or 0)), currency), "lines": n}
            for code, name, total, n in db.session.execute(stmt)]
