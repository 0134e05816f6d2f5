"""Register the API: the spec, the resource blueprints, the browsable docs (served locally, no CDN)."""
from __future__ import annotations

import importlib
from pathlib import Path

from flask import Blueprint, Flask, render_template, send_from_directory

from portal.api.spec import API_CONFIG, api

RESOURCE_MODULES = ["portal.api.companies", "portal.api.sourcing", "portal.api.ordering", "portal.api.invoicing",
                    "portal.api.receivables", "portal.api.einvoice", "portal.api.payables", "portal.api.misc",
                    "portal.api.events", "portal.api.webhooks", "portal.api.company", "portal.api.extras",
                    "portal.api.documents_api", "portal.api.catalog_api",
                    "portal.api.requisitions_api", "portal.api.frameworks_api", "portal.api.suppliers_api"]

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")


@docs_bp.get("/docs")
def docs():
    return render_template("api/docs.html")


@docs_bp.get("/docs/openapi-3.0.json")
def docs_spec_30():
    """The document in OpenAPI 3.0 terms for the bundled Swagger UI (it renders 3.0 only)."""
    from flask import jsonify

    from portal.api.spec import as_openapi_30

    return jsonify(as_openapi_30(api.spec.to_dict()))


@docs_bp.get("/docs/assets/<path:filename>")
def docs_assets(filename):
    import swagger_ui_bundle

    return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), filename, max_age=3600)


def init_api(app: Flask) -> None:
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api.init_app(app)
    for path in RESOURCE_MODULES:
        try:
            mod = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        api.register_blueprint(mod.bp)
    app.register_blueprint(docs_bp)
    from portal.api.token_views import bp as tokens_bp

    app.register_blueprint(tokens_bp)
