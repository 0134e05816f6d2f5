from __future__ import annotations

from flask_smorest import Api as _Api


class Api(_Api):
    """flask-smorest's Api without its app-wide HTTPException handler: the portal's own handlers answer
    problem+json under /api/ and friendly pages elsewhere."""

    from portal.api.schemas import ProblemSchema as ERROR_SCHEMA  # noqa: N811 - errors are problem+json

    def _register_error_handlers(self):  # noqa: D401 - deliberately nothing
        return None

    def register_blueprint(self, blp, *, parameters=None, **options):
        """As flask-smorest's, but the section (global tag) is the blueprint's readable ``tag`` ("Sourcing"),
        the one its operations carry, instead of its name ("api_sourcing")."""
        super().register_blueprint(blp, parameters=parameters, **options)
        readable = getattr(blp, "tag", None)
        name = options.get("name", blp.name)
        if readable and readable != name:
            for tag in self.spec._tags:  # apispec keeps the global tag list here; flask-smorest just added ours
                if tag.get("name") == name:
                    tag["name"] = readable


api = Api()

API_CONFIG = {
    "API_TITLE": "Procurement Portal API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Everything a person does in the browser for RFQs, quotes, orders, shipments "
                                "and invoices. Authenticate with a personal token: `Authorization: Bearer <token>` "
                                "(create one under the account menu → API tokens). Money is `{amount: \"1234.50\", currency: "
                                "\"EUR\"}`, quantities are decimal strings, timestamps ISO 8601 with offset. "
                                "Errors are application/problem+json (RFC 9457)."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    },
}
