"""The buyer administrator's approval rules over the API (the page orders/rules.html): list, read, create,
change, delete — through the same service, so the same checks hold (a rule needing more approvals than the
company has active approvers is refused with the page's sentence).

The routes join the Ordering section: this module is imported at the end of portal.api.ordering and adds its
operations to that blueprint (endpoint names api_ordering.*)."""
from __future__ import annotations

from marshmallow import Schema, fields

from portal.accounts.models import Role
from portal.api.common import actor, created, money
from portal.api.ordering import bp
from portal.api.schemas import BoundedInt, MoneyField, MoneyOut
from portal.errors import Forbidden, NotFound
from portal.i18n import _l
from portal.orders import approvals
from portal.orders.models import ApprovalRule
from portal.tenancy import get_for_company


class ApprovalRuleOut(Schema):
    id = fields.Integer(metadata={"example": 3})
    threshold = fields.Nested(MoneyOut, metadata={"description": "Orders whose net total exceeds this need "
                                                                 "`approvals_required` approvals."})
    approvals_required = fields.Integer(metadata={"description": "1 to 5, given in sequence by different "
                                                                 "approvers.", "example": 2})
    reachable = fields.Boolean(metadata={"description": "False when the company has fewer active approvers "
                                                        "than the rule needs (orders under it cannot be approved)."})


class ApprovalRuleList(Schema):
    items = fields.List(fields.Nested(ApprovalRuleOut), metadata={"description": "By threshold, lowest first."})
    active_approvers = fields.Integer(metadata={"description": "People with the approver role."})
    warning = fields.String(allow_none=True, metadata={
        "description": "What can no longer be approved with the approvers the company has; null when all is "
                       "well."})


class ApprovalRuleIn(Schema):
    threshold = MoneyField(required=True, metadata={"description": "Usually in the company's currency (orders "
                                                                   "in another currency need the highest tier)."})
    approvals_required = BoundedInt(required=True, metadata={"description": "1 to 5.", "example": 2})


class ApprovalRulePatchIn(Schema):
    threshold = MoneyField()
    approvals_required = BoundedInt()


def _admin():
    user = actor()
    if not (user.company.is_buyer and user.has_role(Role.admin)):
        raise Forbidden(_l("Only an administrator of a buying company manages approval rules."))
    return user


def _rule(rule_id) -> ApprovalRule:
    try:
        return get_for_company(ApprovalRule, rule_id, _admin().company_id)
    except NotFound:
        raise NotFound(_l("No such approval rule.")) from None


def rule_dict(rule: ApprovalRule, approvers: int) -> dict:
    return {"id": rule.id, "threshold": money(rule.threshold, rule.currency),
            "approvals_required": rule.approvals_required, "reachable": rule.approvals_required <= approvers}


def _approvers(company_id: int) -> int:
    return len(approvals.active_approvers(company_id))


def _money_parts(value) -> tuple[str | None, str | None]:
    """A MoneyField value -> (amount text, currency or None for a bare amount)."""
    if value is None:
        return None, None
    return str(value), value.currency


@bp.route("/approval-rules", methods=["GET"])
@bp.response(200, ApprovalRuleList)
def list_approval_rules():
    """The company's approval rules (buyer admins), the number of active approvers and, when some rules or
    waiting orders can no longer be approved, the warning the page shows."""
    user = _admin()
    n = _approvers(user.company_id)
    ends = approvals.dead_ends(user.company_id)
    return {"items": [rule_dict(r, n) for r in approvals.rules_for(user.company_id)], "active_approvers": n,
            "warning": ends.sentence() if ends else None}


@bp.route("/approval-rules", methods=["POST"])
@created("api_ordering.get_approval_rule", rule_id="id")
@bp.arguments(ApprovalRuleIn)
@bp.response(201, ApprovalRuleOut)
def create_approval_rule(data):
    """Add a rule (buyer admins). More approvals than the company has active approvers is refused (422, the
    page's sentence); a rule with the same threshold exists already: 409."""
    user = _admin()
    amount, currency = _money_parts(data["threshold"])
    rule = approvals.save_rule(user, amount, data["approvals_required"], currency, create_only=True)
    return rule_dict(rule, _approvers(user.company_id))


@bp.route("/approval-rules/<int(max=2147483647):rule_id>", methods=["GET"])
@bp.response(200, ApprovalRuleOut)
def get_approval_rule(rule_id):
    """One approval rule of your company (buyer admins; another company's is 404)."""
    rule = _rule(rule_id)
    return rule_dict(rule, _approvers(rule.buyer_company_id))


@bp.route("/approval-rules/<int(max=2147483647):rule_id>", methods=["PATCH"])
@bp.arguments(ApprovalRulePatchIn)
@bp.response(200, ApprovalRuleOut)
def update_approval_rule(data, rule_id):
    """Change a rule's threshold and/or approvals (what is left out stays), with the checks of a new rule;
    moving it onto another rule's threshold is 409."""
    rule = _rule(rule_id)
    amount, currency = _money_parts(data.get("threshold"))
    rule = approvals.update_rule(actor(), rule.id, threshold_text=amount,
                                 approvals_text=data.get("approvals_required"), currency=currency)
    return rule_dict(rule, _approvers(rule.buyer_company_id))


@bp.route("/approval-rules/<int(max=2147483647):rule_id>", methods=["DELETE"])
@bp.response(204)
def delete_approval_rule(rule_id):
    """Delete a rule (buyer admins)."""
    rule = _rule(rule_id)
    approvals.delete_rule(actor(), rule.id)


class EscalationSchema(Schema):
    escalation_days = BoundedInt(required=True, metadata={
        "description": "Orders waiting for approval longer than this many working days (1 to 30) are escalated "
                       "to the company's administrators.", "example": 3})


@bp.route("/approval-rules/escalation", methods=["GET"])
@bp.response(200, EscalationSchema)
def get_approval_escalation():
    """After how many working days a waiting order is escalated to the administrators (buyer admins)."""
    return {"escalation_days": _admin().company.approval_escalation_days}


@bp.route("/approval-rules/escalation", methods=["PUT"])
@bp.arguments(EscalationSchema)
@bp.response(200, EscalationSchema)
def set_approval_escalation(data):
    """Set the escalation after 1 to 30 working days (the page's check and sentence otherwise)."""
    return {"escalation_days": approvals.save_escalation_days(_admin(), data["escalation_days"])}
