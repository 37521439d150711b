"""Load the demo retailer into a database, through the contexts' services like any importer.

Idempotent: a database that already holds the demo is left as it is. Each run issues a fresh pair
of API keys (keys are stored hashed, so they cannot be shown again) and revokes the previous run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from parcours.catalog import service as catalog
from parcours.catalog.models import ProductStatus
from parcours.core.auth import service as auth
from parcours.core.auth.models import ApiKey, KeyKind, KeySource, Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose
from parcours.demo import data, shoppers
from parcours.inventory import service as inventory
from parcours.journeys.lake import Lake
from parcours.journeys.simulate import (
    CatalogueItem,
    default_end,
    shop_catalogue,
    simulate_history,
)
from parcours.stores import kiosks
from parcours.stores import service as stores
from parcours.stores.models import LocationKind, Service
from parcours.stores.schemas import OpeningExceptionIn

DEMO_PASSWORD = "parcours-demo-2026"
DEMO_STAFF = (
    ("admin@demo.parcours.dev", "Alice Admin", Role.ADMIN, ()),
    ("manager@demo.parcours.dev", "Marc Manager", Role.MANAGER, ()),
    ("marketer@demo.parcours.dev", "Mona Marketing", Role.MARKETER, ()),
    ("associate@demo.parcours.dev", "Awa Vendeuse", Role.ASSOCIATE, ("PAR-RIV",)),
)
_KEY_PREFIX = "demo"
#: The simulated history every back-office analysis page reads: its size, span and customers.
HISTORY_EVENTS = 200_000
HISTORY_DAYS = 180
HISTORY_PROFILES = 300


@dataclass
class DemoLoad:
    created: bool
    products: int = 0
    variants: int = 0
    stores: int = 0
    staff: list[tuple[str, str]] = field(default_factory=list)
    secret_key: str = ""
    publishable_key: str = ""
    write_key: str = ""  # the website's event collection key
    kiosk_code: str = ""  # a one-time pairing code for the PAR-RIV kiosk (10 minutes)
    history_events: int = 0  # simulated journey events written to the lake


#: The demo's kiosk stands in this store; each start issues a fresh pairing code for it.
DEMO_KIOSK_STORE = "PAR-RIV"


def _pair_demo_kiosk(uow: UnitOfWork) -> str:
    """A one-time code pairing a screen as PAR-RIV's kiosk, printed with the keys (a kiosk
    writes nothing until paired; staff pair more from /associate/bornes)."""
    store = stores.get_location_by_code(uow=uow, code=DEMO_KIOSK_STORE)
    if store is None:
        return ""
    issued = kiosks.start_pairing(
        uow=uow, store_id=store.id, name="Borne de démonstration", created_by=None
    )
    return issued.code


def _load_locations(uow: UnitOfWork) -> dict[str, str]:
    ids: dict[str, str] = {}
    for loc in data.demo_locations():
        location = stores.upsert_location(
            uow=uow,
            code=loc.code,
            name=loc.name,
            street=loc.street,
            postcode=loc.postcode,
            city=loc.city,
            latitude=loc.latitude,
            longitude=loc.longitude,
            kind=LocationKind(loc.kind),
            country=loc.country,
            timezone=loc.timezone,
            phone=loc.phone,
            services=[Service(s) for s in loc.services],
            hours=[(h.weekday, h.opens, h.closes) for h in loc.hours],
            exceptions=[
                OpeningExceptionIn(day=c.day, opens=c.opens, closes=c.closes, reason=c.reason)
                for c in loc.closures
            ],
        )
        ids[loc.code] = location.id
    stores.load_places(
        uow=uow,
        places=[(p.postcode, p.city, p.latitude, p.longitude) for p in data.demo_places()],
    )
    return ids


def _load_catalog(uow: UnitOfWork, products: list[data.DemoProduct]) -> dict[str, str]:
    for position, category in enumerate(data.demo_categories()):
        catalog.upsert_category(
            uow=uow,
            slug=category.slug,
            name=category.name,
            parent_slug=category.parent_slug,
            position=position,
        )
    variant_ids: dict[str, str] = {}
    for product in products:
        created = catalog.create_product(
            uow=uow,
            name=product.name,
            slug=product.slug,
            description=product.description,
            brand=product.brand,
            category_slug=product.category_slug,
            price_amount=product.price_cents,
            currency=product.currency,
            image_urls=product.image_urls,
            channels=product.channels,
            status=ProductStatus.PUBLISHED,
            variants=[
                {
                    "sku": v.sku,
                    "gtin": v.gtin,
                    "attributes": dict(v.attributes),
                    "price_amount": v.price_cents,
                }
                for v in product.variants
            ],
        )
        variant_ids.update({v.sku: v.id for v in created.variants})
    return variant_ids


def _load_stock(
    uow: UnitOfWork,
    stock: dict[tuple[str, str], int],
    variant_ids: dict[str, str],
    location_ids: dict[str, str],
) -> None:
    inventory.load_stock(
        uow=uow,
        levels=[
            (variant_ids[sku], location_ids[code], quantity)
            for (sku, code), quantity in sorted(stock.items())
        ],
        reason="demo opening stock",
    )


def _issue_keys(uow: UnitOfWork) -> tuple[str, str, str]:
    previous = uow.session.scalars(
        select(ApiKey).where(ApiKey.name.like(f"{_KEY_PREFIX}:%"), ApiKey.revoked_at.is_(None))
    )
    for key in previous:
        auth.revoke_api_key(uow=uow, key_id=key.id)
    secret = auth.create_api_key(uow=uow, kind=KeyKind.SECRET, name=f"{_KEY_PREFIX}: server")
    publishable = auth.create_api_key(
        uow=uow, kind=KeyKind.PUBLISHABLE, name=f"{_KEY_PREFIX}: storefront"
    )
    write = auth.create_api_key(
        uow=uow, kind=KeyKind.WRITE, name=f"{_KEY_PREFIX}: website events", source=KeySource.WEB
    )
    return secret.token, publishable.token, write.token


def _history_profiles(uow: UnitOfWork, count: int) -> list[str]:
    """Customers of the simulated history, created like any profile (an id from the shop's
    user accounts, no personal data) and having accepted analytics, as their events assume."""
    at = utcnow()
    ids = []
    for number in range(1, count + 1):
        profile = customers.identify(
            uow=uow, user_id=f"demo-customer-{number:04d}", channel="web", at=at
        )
        customers.record_consent(
            uow=uow,
            profile_id=profile.id,
            purpose=ConsentPurpose.ANALYTICS,
            granted=True,
            channel="web",
            wording_version=shoppers.WORDING,
            at=at,
        )
        ids.append(profile.id)
    return ids


def _write_history(
    settings: Settings, history: tuple[list[CatalogueItem], list[str], list[str]]
) -> int:
    products, store_ids, profiles = history
    report = simulate_history(
        lake=Lake(settings.lake_dir),
        events=HISTORY_EVENTS,
        days=HISTORY_DAYS,
        end=default_end(),
        products=products,
        stores=store_ids,
        profiles=profiles,
    )
    return report.events


def load_demo(settings: Settings, *, issue_keys: bool = True) -> DemoLoad:
    """Load the demo retailer unless it is there; print-ready credentials in the result."""
    db = Database.from_settings(settings)
    try:
        with UnitOfWork(db) as uow:
            already = stores.get_location_by_code(uow=uow, code="PAR-RIV") is not None
            result = DemoLoad(created=not already)
            history = None
            if not already:
                location_ids = _load_locations(uow)
                products = data.demo_products()
                variant_ids = _load_catalog(uow, products)
                locations = data.demo_locations()
                stock = data.demo_stock(products, locations)
                _load_stock(uow, stock, variant_ids, location_ids)
                for email, name, role, store_codes in DEMO_STAFF:
                    auth.create_staff_user(
                        uow=uow,
                        email=email,
                        name=name,
                        role=role,
                        password=DEMO_PASSWORD,
                        store_ids=frozenset(location_ids[c] for c in store_codes),
                    )
                shoppers.load_demo_shoppers(
                    uow,
                    settings,
                    variant_ids=variant_ids,
                    location_ids=location_ids,
                    stock=stock,
                    skus_by_product={p.slug: [v.sku for v in p.variants] for p in products},
                )
                result.products = len(products)
                result.variants = len(variant_ids)
                result.stores = sum(1 for loc in locations if loc.kind == "store")
                profiles = _history_profiles(uow, HISTORY_PROFILES)
                history = (*shop_catalogue(uow), profiles)
            result.staff = [(email, role.value) for email, _, role, _ in DEMO_STAFF]
            if issue_keys:
                result.secret_key, result.publishable_key, result.write_key = _issue_keys(uow)
                result.kiosk_code = _pair_demo_kiosk(uow)
            uow.commit()
        if history is not None:  # the lake holds only what the committed database knows
            result.history_events = _write_history(settings, history)
        return result
    finally:
        db.dispose()
