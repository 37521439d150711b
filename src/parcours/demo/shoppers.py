"""Demo shoppers: a few customers with a history across channels, so that the associate app has
someone to recognise on day one (a loyalty card to scan, products viewed online yesterday, orders
waiting at the pickup desk of Paris Rivoli, a cart open on her phone, a call for advice, promo
codes for the till).

Everything goes through the contexts' services, as a real history would; times are relative to
the moment the demo is loaded, so "yesterday" stays yesterday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.catalog import service as catalog
from parcours.core.clock import utcnow
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose
from parcours.loyalty import service as loyalty
from parcours.orders import service as orders
from parcours.orders.models import FulfilmentMethod
from parcours.payments import service as payments
from parcours.payments.providers import build_providers
from parcours.stores import service as stores
from parcours.tracking import service as tracking

WORDING = "demo-2026-11"
TEST_CARD = "4242424242424242"


@dataclass(frozen=True, slots=True)
class DemoShopper:
    first_name: str
    last_name: str
    email: str
    phone: str
    loyalty_card: str
    personalisation: bool  # may an associate see what she browsed?


DEMO_SHOPPERS = (
    DemoShopper(
        "Camille", "Dupont", "camille.dupont@exemple.fr", "+33612345678", "PC00001234", True
    ),
    DemoShopper("Léa", "Martin", "lea.martin@exemple.fr", "+33623456789", "PC00002345", True),
    DemoShopper("Hugo", "Bernard", "hugo.bernard@exemple.fr", "+33634567890", "PC00003456", False),
    DemoShopper("Inès", "Petit", "ines.petit@exemple.fr", "+33645678901", "PC00004567", True),
)


def _stocked_at(
    stock: dict[tuple[str, str], int], store_code: str, skus: list[str], *, least: int = 2
) -> list[str]:
    return [sku for sku in skus if stock.get((sku, store_code), 0) >= least]


def load_demo_shoppers(
    uow: UnitOfWork,
    settings: Settings,
    *,
    variant_ids: dict[str, str],
    location_ids: dict[str, str],
    stock: dict[tuple[str, str], int],
    skus_by_product: dict[str, list[str]],
) -> dict[str, str]:
    """Create the demo shoppers and their journeys; returns their profile ids by email."""
    now = utcnow()
    store = location_ids["PAR-RIV"]
    providers = build_providers(settings)
    profiles: dict[str, str] = {}
    for position, shopper in enumerate(DEMO_SHOPPERS):
        profile = customers.identify(
            uow=uow,
            anonymous_id=f"demo-device-{position}",
            traits={
                "first_name": shopper.first_name,
                "last_name": shopper.last_name,
                "email": shopper.email,
                "phone": shopper.phone,
                "loyalty_card": shopper.loyalty_card,
            },
            channel="web",
            at=now - timedelta(days=120 - 20 * position),
            trusted=True,
        )
        profiles[shopper.email] = profile.id
        for purpose, granted in (
            (ConsentPurpose.ANALYTICS, True),
            (ConsentPurpose.PERSONALISATION, shopper.personalisation),
            (ConsentPurpose.MARKETING_EMAIL, position % 2 == 0),
        ):
            customers.record_consent(
                uow=uow,
                profile_id=profile.id,
                purpose=purpose,
                granted=granted,
                channel="web",
                wording_version=WORDING,
                at=now - timedelta(days=100),
            )

    # Trousers Paris Rivoli carries in some sizes only: what Camille looked at online yesterday.
    trousers = [
        slug
        for slug, skus in skus_by_product.items()
        if slug.startswith("pantalon") and 0 < len(_stocked_at(stock, "PAR-RIV", skus)) < len(skus)
    ]
    browsed = trousers[:2] + [slug for slug in skus_by_product if slug.startswith("pull")][:1]
    camille = profiles[DEMO_SHOPPERS[0].email]
    for index, slug in enumerate(browsed):
        product = catalog.get_product_by_slug(uow=uow, slug=slug)
        for view in range(2 if index == 0 else 1):
            tracking.record_domain_event(
                uow=uow,
                name="Product Viewed",
                properties={
                    "product_id": product.id,
                    "name": product.name,
                    "price": product.variants[0].price_amount / 100
                    if product.variants[0].price_amount
                    else None,
                    "currency": "EUR",
                },
                channel="web" if view == 0 else "app",
                occurred_at=now - timedelta(days=1 if index < 2 else 3, minutes=40 * view + 5),
                anonymous_id="demo-device-0",
                profile_id=camille,
            )

    def order_for(email: str, skus: list[str], method: FulfilmentMethod, *, pay: bool) -> str:
        profile_id = profiles[email]
        cart = carts.open_cart(
            uow=uow,
            profile_id=profile_id,
            anonymous_id=None,
            channel="web",
            currency="EUR",
        )
        for sku in skus:
            carts.add_line(
                uow=uow,
                cart_id=cart.id,
                variant_id=variant_ids[sku],
                quantity=1,
                touchpoint=carts.Touchpoint(kind=TouchpointKind.WEB),
            )
        order = orders.place_order(
            uow=uow,
            cart_id=cart.id,
            groups=[orders.FulfilmentRequest(method=method, store_id=store)],
            placement=orders.Placement(channel="web"),
            email=email,
        )
        if pay:
            token = payments.create_test_card_token(
                providers=providers,
                number=TEST_CARD,
                exp_month=12,
                exp_year=now.year + 3,
                cvc="123",
            )
            orders.pay_order(
                uow=uow,
                providers=providers,
                order_id=order.id,
                method="card",
                details={"token": token.token},
                idempotency_key=f"demo-{order.id}",
                channel="web",
            )
        return order.id

    on_shelf = [
        skus[0]
        for skus in skus_by_product.values()
        if _stocked_at(stock, "PAR-RIV", skus[:1], least=3)
    ]
    # Léa's click-and-collect is paid and waits to be prepared; Hugo's is on the shelf.
    order_for(DEMO_SHOPPERS[1].email, on_shelf[3:5], FulfilmentMethod.CLICK_AND_COLLECT, pay=True)
    ready = order_for(
        DEMO_SHOPPERS[2].email, on_shelf[6:7], FulfilmentMethod.CLICK_AND_COLLECT, pay=True
    )
    orders.mark_ready_for_pickup(uow=uow, order_id=ready, location_id=store)
    # Inès reserved in store, to pay when she comes.
    order_for(DEMO_SHOPPERS[3].email, on_shelf[8:9], FulfilmentMethod.RESERVE_IN_STORE, pay=False)
    # Camille's phone cart, which the till opens by its handoff code.
    cart = carts.open_cart(
        uow=uow, profile_id=camille, anonymous_id=None, channel="app", currency="EUR"
    )
    carts.add_line(
        uow=uow,
        cart_id=cart.id,
        variant_id=variant_ids[on_shelf[10]],
        quantity=1,
        touchpoint=carts.Touchpoint(kind=TouchpointKind.APP),
    )
    # Codes the till accepts, and Inès asking for advice on the trousers from the store's kiosk.
    loyalty.create_promo_code(
        uow=uow,
        code="BIENVENUE10",
        kind="percent",
        value=10,
        description="10 % de bienvenue dès 50 € d'achat",
        min_subtotal=5000,
    )
    loyalty.create_promo_code(
        uow=uow, code="FIDELE5", kind="amount", value=500, description="5 € offerts aux fidèles"
    )
    if browsed:
        stores.request_advice(
            uow=uow,
            store_id=store,
            source="kiosk",
            product_id=catalog.get_product_by_slug(uow=uow, slug=browsed[0]).id,
            note="Je cherche la taille au-dessus",
            profile_id=profiles[DEMO_SHOPPERS[3].email],
            now=now - timedelta(minutes=3),
        )
    return profiles
