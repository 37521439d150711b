"""Every context's tables, imported in one place for Alembic and for building a test schema."""

from parcours.carts import models as carts_models
from parcours.catalog import models as catalog_models
from parcours.core import idempotency, outbox
from parcours.core.auth import models as auth_models
from parcours.core.db import Base
from parcours.customers import models as customers_models
from parcours.inventory import models as inventory_models
from parcours.loyalty import models as loyalty_models
from parcours.notifications import models as notifications_models  # noqa: F401
from parcours.orders import models as orders_models
from parcours.payments import models as payments_models  # noqa: F401
from parcours.stores import models as stores_models
from parcours.tracking import models as tracking_models

__all__ = [
    "Base",
    "carts_models",
    "auth_models",
    "catalog_models",
    "customers_models",
    "idempotency",
    "inventory_models",
    "loyalty_models",
    "orders_models",
    "outbox",
    "stores_models",
    "tracking_models",
]
