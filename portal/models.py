"""Import every domain's models so SQLAlchemy's metadata (and Alembic) sees all tables."""
import importlib

from portal.accounts import models as _accounts  # noqa: F401
from portal.audit import models as _audit  # noqa: F401
from portal.documents import models as _documents  # noqa: F401
from portal.jobs import models as _jobs  # noqa: F401
from portal.notifications import models as _notifications  # noqa: F401
from portal import numbering as _numbering  # noqa: F401

for _name in ("rfq", "quotes", "catalog", "orders", "credit", "invoices", "receivables", "einvoice", "payables", "api",
              "events", "webhooks",
              "budgets", "requisitions", "suppliers"):
    try:
        importlib.import_module(f"portal.{_name}.models")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"portal.{_name}.models":
            raise
from portal.quotes import scoring_models as _scoring  # noqa: F401,E402
from portal.frameworks import models as _frameworks  # noqa: F401,E402
