"""Pure data for the demo retailer "Parcours": stores, gazetteer, categories, products, stock.

Nothing here touches a database or the network, and every value is deterministic: the few
random choices go through ``random.Random(seed)``. The loader turns these records into rows.

Everything is fictional except the places: store streets, postcodes and coordinates are real,
phone numbers come from the ranges that ARCEP reserves for fiction, and the GTINs use an
invented company prefix (3760999) in the GS1 France range (300-379).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "DEMO_YEARS",
    "GTIN_COMPANY_PREFIX",
    "IMAGE_URL_PREFIX",
    "SERVICES",
    "CHANNELS",
    "DemoCategory",
    "DemoClosure",
    "DemoLocation",
    "DemoOpeningHours",
    "DemoPlace",
    "DemoProduct",
    "DemoVariant",
    "demo_categories",
    "demo_locations",
    "demo_places",
    "demo_products",
    "demo_stock",
    "easter_sunday",
    "french_public_holidays",
    "gtin13_check_digit",
]

#: Years for which opening-hour exceptions (public holidays, special days) are generated.
DEMO_YEARS: tuple[int, ...] = (2026, 2027)
#: Invented GS1 company prefix (France is 300-379); item references follow, then the check digit.
GTIN_COMPANY_PREFIX = "3760999"
#: Product images are served from the package's ``static/`` folder under this URL prefix.
IMAGE_URL_PREFIX = "/demo/static/"
SERVICES: tuple[str, ...] = (
    "click_and_collect",
    "ship_from_store",
    "appointments",
    "reserve_in_store",
)
CHANNELS: tuple[str, ...] = ("web", "app", "store", "marketplace")


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoOpeningHours:
    """Regular opening hours for one weekday (0 = Monday); a missing weekday means closed."""

    weekday: int
    opens: str
    closes: str


@dataclass(frozen=True, slots=True)
class DemoClosure:
    """An exception to the regular hours: closed all day (opens is None) or special hours."""

    day: date
    opens: str | None
    closes: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class DemoLocation:
    code: str
    kind: str
    name: str
    street: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    phone: str
    services: tuple[str, ...]
    hours: tuple[DemoOpeningHours, ...]
    closures: tuple[DemoClosure, ...]


@dataclass(frozen=True, slots=True)
class DemoCategory:
    slug: str
    name: str
    parent_slug: str | None


@dataclass(frozen=True, slots=True)
class DemoVariant:
    sku: str
    gtin: str
    attributes: dict[str, str]
    price_cents: int | None = None


@dataclass(frozen=True, slots=True)
class DemoProduct:
    slug: str
    name: str
    description: str
    brand: str
    category_slug: str
    price_cents: int
    currency: str
    image_urls: tuple[str, ...]
    channels: tuple[str, ...]
    variants: tuple[DemoVariant, ...]


@dataclass(frozen=True, slots=True)
class DemoPlace:
    postcode: str
    city: str
    latitude: float
    longitude: float


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def gtin13_check_digit(first12: str) -> str:
    """GS1 check digit for the first 12 digits of a GTIN-13 (weights 1, 3, 1, 3...)."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"expected 12 digits, got {first12!r}")
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return str((10 - total % 10) % 10)


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_public_holidays(year: int) -> list[tuple[date, str]]:
    """The eleven public holidays of metropolitan France (without Alsace-Moselle's two extra)."""
    easter = easter_sunday(year)
    holidays = [
        (date(year, 1, 1), "Jour de l'an"),
        (easter + timedelta(days=1), "Lundi de Pâques"),
        (date(year, 5, 1), "Fête du Travail"),
        (date(year, 5, 8), "Victoire 1945"),
        (easter + timedelta(days=39), "Ascension"),
        (easter + timedelta(days=50), "Lundi de Pentecôte"),
        (date(year, 7, 14), "Fête nationale"),
        (date(year, 8, 15), "Assomption"),
        (date(year, 11, 1), "Toussaint"),
        (date(year, 11, 11), "Armistice 1918"),
        (date(year, 12, 25), "Noël"),
    ]
    return sorted(holidays)


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _code(text: str) -> str:
    """A short upper-case SKU fragment: "140 × 200 cm" -> "140X200", "Ø 35 cm" -> "D35"."""
    text = text.replace("×", "X").replace("Ø", "D").replace(" cm", "").replace(" g", "G")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Z0-9]+", "", ascii_text.upper())


# --------------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------------


def _week(
    opens: str,
    closes: str,
    weekdays: Iterable[int] = range(6),
    special: dict[int, tuple[str, str]] | None = None,
) -> tuple[DemoOpeningHours, ...]:
    special = special or {}
    days = sorted(set(weekdays) | set(special))
    hours: list[DemoOpeningHours] = []
    for day in days:
        day_opens, day_closes = special.get(day, (opens, closes))
        hours.append(DemoOpeningHours(day, day_opens, day_closes))
    return tuple(hours)


def _closures(
    hours: Sequence[DemoOpeningHours], *, sundays_before_christmas: bool
) -> tuple[DemoClosure, ...]:
    by_weekday = {h.weekday: h for h in hours}
    closures: list[DemoClosure] = []
    for year in DEMO_YEARS:
        closures.extend(
            DemoClosure(day, None, None, reason) for day, reason in french_public_holidays(year)
        )
        for day, reason in (
            (date(year, 12, 24), "Veille de Noël"),
            (date(year, 12, 31), "Saint-Sylvestre"),
        ):
            regular = by_weekday.get(day.weekday())
            if regular is not None and regular.closes > "17:00":
                closures.append(DemoClosure(day, regular.opens, "17:00", reason))
        if sundays_before_christmas and 6 not in by_weekday:
            christmas = date(year, 12, 25)
            last_sunday = christmas - timedelta(days=(christmas.weekday() + 1) % 7 or 7)
            for weeks_before in (1, 0):
                sunday = last_sunday - timedelta(weeks=weeks_before)
                closures.append(
                    DemoClosure(sunday, "11:00", "19:00", "Ouverture exceptionnelle avant Noël")
                )
    return tuple(sorted(closures, key=lambda closure: closure.day))


def demo_locations() -> list[DemoLocation]:
    """Eight stores in six French cities and the Orléans-area warehouse, stores first."""
    fashion_hours = _week("10:00", "19:30")

    def store(
        code: str,
        name: str,
        street: str,
        postcode: str,
        city: str,
        latitude: float,
        longitude: float,
        phone: str,
        services: tuple[str, ...],
        hours: tuple[DemoOpeningHours, ...],
    ) -> DemoLocation:
        return DemoLocation(
            code=code,
            kind="store",
            name=name,
            street=street,
            postcode=postcode,
            city=city,
            country="FR",
            latitude=latitude,
            longitude=longitude,
            timezone="Europe/Paris",
            phone=phone,
            services=services,
            hours=hours,
            closures=_closures(hours, sundays_before_christmas=6 not in {h.weekday for h in hours}),
        )

    # Sunday trading: both Paris stores are in tourist zones (ZTI) and open on Sundays.
    paris_hours = _week("10:00", "20:00", special={6: ("11:00", "19:00")})
    bastille_hours = _week("10:00", "19:30", special={6: ("11:00", "19:00")})
    warehouse_hours = _week("06:00", "21:00", range(5))
    locations = [
        store(
            "PAR-RIV",
            "Parcours Paris Rivoli",
            "118 rue de Rivoli",
            "75001",
            "Paris",
            48.8603,
            2.3437,
            "+33 1 99 00 41 18",
            ("click_and_collect", "ship_from_store", "appointments", "reserve_in_store"),
            paris_hours,
        ),
        store(
            "PAR-BAS",
            "Parcours Paris Bastille",
            "25 rue du Faubourg Saint-Antoine",
            "75011",
            "Paris",
            48.8525,
            2.3725,
            "+33 1 99 00 25 11",
            ("click_and_collect", "reserve_in_store", "ship_from_store"),
            bastille_hours,
        ),
        store(
            "LYO-REP",
            "Parcours Lyon République",
            "45 rue de la République",
            "69002",
            "Lyon",
            45.7610,
            4.8358,
            "+33 4 65 71 45 02",
            ("click_and_collect", "ship_from_store", "appointments", "reserve_in_store"),
            _week("10:00", "19:30", special={3: ("10:00", "20:00")}),
        ),
        store(
            "MRS-FER",
            "Parcours Marseille Saint-Ferréol",
            "40 rue Saint-Ferréol",
            "13001",
            "Marseille",
            43.2925,
            5.3780,
            "+33 4 65 71 40 13",
            ("click_and_collect", "reserve_in_store"),
            _week("10:00", "19:00"),
        ),
        store(
            "BDX-CAT",
            "Parcours Bordeaux Sainte-Catherine",
            "80 rue Sainte-Catherine",
            "33000",
            "Bordeaux",
            44.8385,
            -0.5735,
            "+33 5 36 49 80 33",
            ("click_and_collect", "appointments", "ship_from_store"),
            fashion_hours,
        ),
        store(
            "LIL-BET",
            "Parcours Lille Béthune",
            "34 rue de Béthune",
            "59800",
            "Lille",
            50.6342,
            3.0620,
            "+33 3 53 01 34 59",
            ("click_and_collect", "reserve_in_store", "ship_from_store"),
            fashion_hours,
        ),
        store(
            "NTE-CRE",
            "Parcours Nantes Crébillon",
            "12 rue Crébillon",
            "44000",
            "Nantes",
            47.2134,
            -1.5605,
            "+33 2 61 91 12 44",
            ("click_and_collect", "appointments"),
            # A classic provincial Monday: opens after lunch.
            _week("10:00", "19:00", special={0: ("14:00", "19:00")}),
        ),
        store(
            "TLS-ALS",
            "Parcours Toulouse Alsace-Lorraine",
            "45 rue d'Alsace-Lorraine",
            "31000",
            "Toulouse",
            43.6030,
            1.4457,
            "+33 5 36 49 45 31",
            ("click_and_collect", "ship_from_store", "reserve_in_store"),
            fashion_hours,
        ),
        DemoLocation(
            code="ORL-WHS",
            kind="warehouse",
            name="Entrepôt Parcours Orléans-Saran",
            street="Avenue des Entrepreneurs, Parc d'activités des Vallées",
            postcode="45770",
            city="Saran",
            country="FR",
            latitude=47.9560,
            longitude=1.8890,
            timezone="Europe/Paris",
            phone="+33 2 61 91 45 77",
            services=("ship_from_store",),
            hours=warehouse_hours,
            closures=_closures(warehouse_hours, sundays_before_christmas=False),
        ),
    ]
    return locations


# --------------------------------------------------------------------------------------------
# Gazetteer
# --------------------------------------------------------------------------------------------

# Hand-written (no maintained package ships French postcodes with coordinates offline): every
# arrondissement of Paris, Lyon and Marseille, then the largest communes of metropolitan France
# with their main postcode and the coordinates of their centre (town hall or historic centre).
_PLACES: tuple[tuple[str, str, float, float], ...] = (
    # Paris (75116 is the northern half of the 16th arrondissement).
    ("75001", "Paris", 48.8625, 2.3364),
    ("75002", "Paris", 48.8683, 2.3428),
    ("75003", "Paris", 48.8630, 2.3600),
    ("75004", "Paris", 48.8543, 2.3576),
    ("75005", "Paris", 48.8445, 2.3507),
    ("75006", "Paris", 48.8491, 2.3328),
    ("75007", "Paris", 48.8562, 2.3122),
    ("75008", "Paris", 48.8727, 2.3125),
    ("75009", "Paris", 48.8771, 2.3375),
    ("75010", "Paris", 48.8761, 2.3607),
    ("75011", "Paris", 48.8591, 2.3800),
    ("75012", "Paris", 48.8397, 2.3890),
    ("75013", "Paris", 48.8283, 2.3623),
    ("75014", "Paris", 48.8292, 2.3266),
    ("75015", "Paris", 48.8401, 2.2931),
    ("75016", "Paris", 48.8497, 2.2666),
    ("75116", "Paris", 48.8668, 2.2830),
    ("75017", "Paris", 48.8874, 2.3067),
    ("75018", "Paris", 48.8925, 2.3484),
    ("75019", "Paris", 48.8871, 2.3848),
    ("75020", "Paris", 48.8634, 2.4012),
    # Marseille: the sixteen arrondissements.
    ("13001", "Marseille", 43.2990, 5.3840),
    ("13002", "Marseille", 43.3050, 5.3660),
    ("13003", "Marseille", 43.3100, 5.3790),
    ("13004", "Marseille", 43.3060, 5.4010),
    ("13005", "Marseille", 43.2930, 5.3980),
    ("13006", "Marseille", 43.2870, 5.3800),
    ("13007", "Marseille", 43.2840, 5.3620),
    ("13008", "Marseille", 43.2650, 5.3830),
    ("13009", "Marseille", 43.2500, 5.4200),
    ("13010", "Marseille", 43.2760, 5.4230),
    ("13011", "Marseille", 43.2890, 5.4600),
    ("13012", "Marseille", 43.3050, 5.4400),
    ("13013", "Marseille", 43.3300, 5.4180),
    ("13014", "Marseille", 43.3450, 5.3900),
    ("13015", "Marseille", 43.3650, 5.3560),
    ("13016", "Marseille", 43.3600, 5.3250),
    # Lyon: the nine arrondissements.
    ("69001", "Lyon", 45.7690, 4.8300),
    ("69002", "Lyon", 45.7520, 4.8280),
    ("69003", "Lyon", 45.7590, 4.8510),
    ("69004", "Lyon", 45.7780, 4.8270),
    ("69005", "Lyon", 45.7600, 4.8200),
    ("69006", "Lyon", 45.7700, 4.8500),
    ("69007", "Lyon", 45.7450, 4.8420),
    ("69008", "Lyon", 45.7350, 4.8690),
    ("69009", "Lyon", 45.7740, 4.8060),
    # The largest other communes of metropolitan France, with their main postcode.
    ("31000", "Toulouse", 43.6045, 1.4440),
    ("06000", "Nice", 43.7034, 7.2663),
    ("44000", "Nantes", 47.2184, -1.5536),
    ("34000", "Montpellier", 43.6108, 3.8767),
    ("67000", "Strasbourg", 48.5830, 7.7480),
    ("33000", "Bordeaux", 44.8378, -0.5792),
    ("59000", "Lille", 50.6292, 3.0573),
    ("59800", "Lille", 50.6390, 3.0660),
    ("35000", "Rennes", 48.1173, -1.6778),
    ("83000", "Toulon", 43.1242, 5.9280),
    ("51100", "Reims", 49.2583, 4.0317),
    ("42000", "Saint-Étienne", 45.4397, 4.3872),
    ("76600", "Le Havre", 49.4944, 0.1079),
    ("69100", "Villeurbanne", 45.7665, 4.8800),
    ("21000", "Dijon", 47.3220, 5.0415),
    ("49000", "Angers", 47.4720, -0.5540),
    ("38000", "Grenoble", 45.1885, 5.7245),
    ("30000", "Nîmes", 43.8367, 4.3601),
    ("13100", "Aix-en-Provence", 43.5297, 5.4474),
    ("63000", "Clermont-Ferrand", 45.7772, 3.0870),
    ("72000", "Le Mans", 48.0061, 0.1996),
    ("29200", "Brest", 48.3904, -4.4861),
    ("37000", "Tours", 47.3941, 0.6848),
    ("80000", "Amiens", 49.8941, 2.2958),
    ("74000", "Annecy", 45.8992, 6.1294),
    ("87000", "Limoges", 45.8336, 1.2611),
    ("57000", "Metz", 49.1193, 6.1757),
    ("92100", "Boulogne-Billancourt", 48.8397, 2.2399),
    ("66000", "Perpignan", 42.6887, 2.8948),
    ("25000", "Besançon", 47.2378, 6.0241),
    ("45000", "Orléans", 47.9030, 1.9093),
    ("93200", "Saint-Denis", 48.9362, 2.3574),
    ("95100", "Argenteuil", 48.9472, 2.2467),
    ("76000", "Rouen", 49.4432, 1.0999),
    ("93100", "Montreuil", 48.8638, 2.4485),
    ("68100", "Mulhouse", 47.7508, 7.3359),
    ("14000", "Caen", 49.1829, -0.3707),
    ("54000", "Nancy", 48.6921, 6.1844),
    ("59200", "Tourcoing", 50.7239, 3.1612),
    ("59100", "Roubaix", 50.6942, 3.1746),
    ("92000", "Nanterre", 48.8924, 2.2071),
    ("94400", "Vitry-sur-Seine", 48.7875, 2.3928),
    ("84000", "Avignon", 43.9493, 4.8055),
    ("94000", "Créteil", 48.7904, 2.4556),
    ("59140", "Dunkerque", 51.0343, 2.3768),
    ("86000", "Poitiers", 46.5802, 0.3404),
    ("92600", "Asnières-sur-Seine", 48.9147, 2.2874),
    ("78000", "Versailles", 48.8035, 2.1300),
    ("92700", "Colombes", 48.9226, 2.2522),
    ("93300", "Aubervilliers", 48.9146, 2.3821),
    ("93600", "Aulnay-sous-Bois", 48.9386, 2.4975),
    ("92400", "Courbevoie", 48.8973, 2.2522),
    ("50100", "Cherbourg-en-Cotentin", 49.6337, -1.6222),
    ("92500", "Rueil-Malmaison", 48.8778, 2.1803),
    ("94500", "Champigny-sur-Marne", 48.8172, 2.5156),
    ("64000", "Pau", 43.2951, -0.3708),
    ("34500", "Béziers", 43.3442, 3.2158),
    ("17000", "La Rochelle", 46.1603, -1.1511),
    ("94100", "Saint-Maur-des-Fossés", 48.7994, 2.4997),
    ("62100", "Calais", 50.9513, 1.8587),
    ("06400", "Cannes", 43.5528, 7.0174),
    ("06600", "Antibes", 43.5808, 7.1251),
    ("93700", "Drancy", 48.9230, 2.4455),
    ("33700", "Mérignac", 44.8386, -0.6436),
    ("20000", "Ajaccio", 41.9192, 8.7386),
    ("68000", "Colmar", 48.0794, 7.3585),
    ("44600", "Saint-Nazaire", 47.2735, -2.2138),
    ("92130", "Issy-les-Moulineaux", 48.8245, 2.2700),
    ("93160", "Noisy-le-Grand", 48.8487, 2.5526),
    ("69200", "Vénissieux", 45.6975, 4.8867),
    ("95000", "Cergy", 49.0364, 2.0761),
    ("92300", "Levallois-Perret", 48.8950, 2.2874),
    ("26000", "Valence", 44.9334, 4.8924),
    ("18000", "Bourges", 47.0810, 2.3988),
    ("33600", "Pessac", 44.8067, -0.6311),
    ("94200", "Ivry-sur-Seine", 48.8157, 2.3849),
    ("29000", "Quimper", 47.9960, -4.1024),
    ("83500", "La Seyne-sur-Mer", 43.1007, 5.8788),
    ("92160", "Antony", 48.7540, 2.2975),
    ("59650", "Villeneuve-d'Ascq", 50.6200, 3.1550),
    ("92110", "Clichy", 48.9045, 2.3059),
    ("10000", "Troyes", 48.2973, 4.0744),
    ("82000", "Montauban", 44.0176, 1.3550),
    ("92200", "Neuilly-sur-Seine", 48.8846, 2.2697),
    ("93500", "Pantin", 48.8944, 2.4093),
    ("79000", "Niort", 46.3237, -0.4588),
    ("73000", "Chambéry", 45.5646, 5.9178),
    ("95200", "Sarcelles", 48.9973, 2.3780),
    ("93150", "Le Blanc-Mesnil", 48.9385, 2.4614),
    ("56100", "Lorient", 47.7483, -3.3700),
    ("60000", "Beauvais", 49.4295, 2.0807),
    ("94700", "Maisons-Alfort", 48.8058, 2.4378),
    ("77100", "Meaux", 48.9601, 2.8788),
    ("11100", "Narbonne", 43.1839, 3.0042),
    ("77500", "Chelles", 48.8797, 2.5903),
    ("83600", "Fréjus", 43.4330, 6.7370),
    ("91000", "Évry-Courcouronnes", 48.6300, 2.4400),
    ("56000", "Vannes", 47.6582, -2.7608),
    ("49300", "Cholet", 47.0600, -0.8786),
    ("93140", "Bondy", 48.9022, 2.4828),
    ("83400", "Hyères", 43.1204, 6.1286),
    ("93800", "Épinay-sur-Seine", 48.9553, 2.3092),
    ("94800", "Villejuif", 48.7919, 2.3636),
    ("13200", "Arles", 43.6766, 4.6278),
    ("02100", "Saint-Quentin", 49.8465, 3.2876),
    ("92140", "Clamart", 48.8003, 2.2667),
    ("78500", "Sartrouville", 48.9372, 2.1644),
    ("93000", "Bobigny", 48.9077, 2.4397),
    ("94300", "Vincennes", 48.8474, 2.4393),
    ("53000", "Laval", 48.0707, -0.7734),
    ("64100", "Bayonne", 43.4929, -1.4748),
    ("91100", "Corbeil-Essonnes", 48.6139, 2.4820),
    ("81000", "Albi", 43.9289, 2.1464),
    ("41000", "Blois", 47.5861, 1.3359),
    ("19100", "Brive-la-Gaillarde", 45.1589, 1.5321),
    ("11000", "Carcassonne", 43.2130, 2.3491),
    ("36000", "Châteauroux", 46.8103, 1.6913),
    ("22000", "Saint-Brieuc", 48.5136, -2.7603),
    ("90000", "Belfort", 47.6380, 6.8628),
    ("35400", "Saint-Malo", 48.6493, -2.0257),
    ("16000", "Angoulême", 45.6484, 0.1562),
    ("71100", "Chalon-sur-Saône", 46.7806, 4.8539),
    ("65000", "Tarbes", 43.2328, 0.0781),
    ("20200", "Bastia", 42.6973, 9.4509),
    ("59300", "Valenciennes", 50.3570, 3.5235),
    ("58000", "Nevers", 46.9908, 3.1591),
    ("89000", "Auxerre", 47.7982, 3.5673),
    ("71000", "Mâcon", 46.3069, 4.8287),
    ("47000", "Agen", 44.2033, 0.6163),
    ("24000", "Périgueux", 45.1847, 0.7214),
    ("27000", "Évreux", 49.0241, 1.1508),
    ("28000", "Chartres", 48.4439, 1.4890),
    ("05000", "Gap", 44.5594, 6.0786),
    ("03100", "Montluçon", 46.3402, 2.6034),
    ("08000", "Charleville-Mézières", 49.7621, 4.7265),
    ("69800", "Saint-Priest", 45.6960, 4.9440),
    ("01000", "Bourg-en-Bresse", 46.2052, 5.2255),
    ("62300", "Lens", 50.4322, 2.8333),
    ("62000", "Arras", 50.2910, 2.7775),
    ("59500", "Douai", 50.3714, 3.0800),
    ("62200", "Boulogne-sur-Mer", 50.7264, 1.6147),
    ("60200", "Compiègne", 49.4179, 2.8261),
    ("78100", "Saint-Germain-en-Laye", 48.8989, 2.0938),
    ("88000", "Épinal", 48.1724, 6.4496),
    ("57100", "Thionville", 49.3579, 6.1683),
    ("51000", "Châlons-en-Champagne", 48.9566, 4.3631),
    ("34200", "Sète", 43.4028, 3.6965),
    ("13800", "Istres", 43.5151, 4.9895),
    ("13500", "Martigues", 43.4053, 5.0475),
    ("13400", "Aubagne", 43.2927, 5.5708),
    ("13300", "Salon-de-Provence", 43.6403, 5.0973),
    ("06130", "Grasse", 43.6580, 6.9225),
    ("06800", "Cagnes-sur-Mer", 43.6640, 7.1489),
    ("06500", "Menton", 43.7747, 7.4975),
    ("44800", "Saint-Herblain", 47.2122, -1.6497),
    ("44400", "Rezé", 47.1910, -1.5690),
    ("33400", "Talence", 44.8084, -0.5883),
    ("69120", "Vaulx-en-Velin", 45.7786, 4.9200),
    ("69300", "Caluire-et-Cuire", 45.7953, 4.8467),
    ("69500", "Bron", 45.7386, 4.9130),
    ("38130", "Échirolles", 45.1436, 5.7203),
    ("91300", "Massy", 48.7309, 2.2713),
    ("93400", "Saint-Ouen-sur-Seine", 48.9116, 2.3340),
    ("92120", "Montrouge", 48.8163, 2.3167),
    ("93110", "Rosny-sous-Bois", 48.8745, 2.4862),
    ("94120", "Fontenay-sous-Bois", 48.8515, 2.4770),
    ("94600", "Choisy-le-Roi", 48.7636, 2.4094),
    ("92190", "Meudon", 48.8128, 2.2381),
    ("92800", "Puteaux", 48.8842, 2.2389),
    ("92150", "Suresnes", 48.8711, 2.2250),
    ("92230", "Gennevilliers", 48.9333, 2.2928),
    ("93270", "Sevran", 48.9386, 2.5275),
    ("95300", "Pontoise", 49.0506, 2.1008),
    ("78200", "Mantes-la-Jolie", 48.9908, 1.7172),
    ("78300", "Poissy", 48.9290, 2.0457),
    ("85000", "La Roche-sur-Yon", 46.6705, -1.4260),
    ("42300", "Roanne", 46.0366, 4.0683),
    ("26200", "Montélimar", 44.5581, 4.7509),
    ("64600", "Anglet", 43.4850, -1.5146),
    ("64200", "Biarritz", 43.4832, -1.5586),
    ("40000", "Mont-de-Marsan", 43.8902, -0.4994),
    ("12000", "Rodez", 44.3506, 2.5750),
    ("30100", "Alès", 44.1250, 4.0810),
    ("83300", "Draguignan", 43.5366, 6.4646),
    ("83700", "Saint-Raphaël", 43.4253, 6.7680),
    ("74200", "Thonon-les-Bains", 46.3705, 6.4793),
    ("73100", "Aix-les-Bains", 45.6884, 5.9153),
    ("38200", "Vienne", 45.5255, 4.8743),
    ("69400", "Villefranche-sur-Saône", 45.9896, 4.7186),
    ("45770", "Saran", 47.9514, 1.8747),
)


def demo_places() -> list[DemoPlace]:
    """Gazetteer for the store locator: one entry per (postcode, city), in metropolitan France."""
    return [
        DemoPlace(postcode, city, latitude, longitude)
        for postcode, city, latitude, longitude in _PLACES
    ]


# --------------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------------

_CATEGORY_TREE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "femme",
        "Femme",
        (
            ("femme-pantalons", "Pantalons"),
            ("femme-robes", "Robes"),
            ("femme-jupes", "Jupes"),
            ("femme-chemises", "Chemises & blouses"),
            ("femme-tops", "T-shirts & tops"),
            ("femme-pulls", "Pulls & gilets"),
            ("femme-vestes", "Vestes & manteaux"),
            ("femme-chaussures", "Chaussures"),
        ),
    ),
    (
        "homme",
        "Homme",
        (
            ("homme-pantalons", "Pantalons"),
            ("homme-chemises", "Chemises"),
            ("homme-tshirts", "T-shirts & polos"),
            ("homme-pulls", "Pulls & sweats"),
            ("homme-vestes", "Vestes & manteaux"),
            ("homme-chaussures", "Chaussures"),
        ),
    ),
    (
        "accessoires",
        "Accessoires",
        (
            ("accessoires-sacs", "Sacs"),
            ("accessoires-echarpes", "Écharpes & foulards"),
            ("accessoires-ceintures", "Ceintures"),
            ("accessoires-chapeaux", "Bonnets, gants & chapeaux"),
        ),
    ),
    (
        "maison",
        "Maison",
        (
            ("maison-luminaires", "Luminaires"),
            ("maison-linge", "Linge de maison"),
            ("maison-decoration", "Décoration"),
            ("maison-cuisine", "Cuisine & arts de la table"),
            ("maison-bougies", "Bougies & senteurs"),
        ),
    ),
)


def demo_categories() -> list[DemoCategory]:
    """A two-level tree; every parent comes before its children."""
    categories = [DemoCategory(slug, name, None) for slug, name, _ in _CATEGORY_TREE]
    for parent, _, children in _CATEGORY_TREE:
        categories.extend(DemoCategory(slug, name, parent) for slug, name in children)
    return categories


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------

# key -> (attribute label, masc. sing., fem. sing., masc. plur., fem. plur., SKU code)
_COLOURS: dict[str, tuple[str, str, str, str, str, str]] = {
    "noir": ("Noir", "noir", "noire", "noirs", "noires", "NOI"),
    "blanc": ("Blanc", "blanc", "blanche", "blancs", "blanches", "BLA"),
    "ecru": ("Écru", "écru", "écrue", "écrus", "écrues", "ECR"),
    "beige": ("Beige", "beige", "beige", "beiges", "beiges", "BEI"),
    "marine": ("Bleu marine", "bleu marine", "bleu marine", "bleu marine", "bleu marine", "MAR"),
    "bleu": ("Bleu", "bleu", "bleue", "bleus", "bleues", "BLE"),
    "ciel": ("Bleu ciel", "bleu ciel", "bleu ciel", "bleu ciel", "bleu ciel", "CIE"),
    "brut": ("Bleu brut", "bleu brut", "bleu brut", "bleu brut", "bleu brut", "BRU"),
    "delave": ("Bleu délavé", "bleu délavé", "bleu délavé", "bleu délavé", "bleu délavé", "DEL"),
    "gris": ("Gris", "gris", "grise", "gris", "grises", "GRI"),
    "chine": ("Gris chiné", "gris chiné", "gris chiné", "gris chiné", "gris chiné", "CHI"),
    "anthracite": ("Anthracite", "anthracite", "anthracite", "anthracite", "anthracite", "ANT"),
    "kaki": ("Kaki", "kaki", "kaki", "kaki", "kaki", "KAK"),
    "vert": ("Vert", "vert", "verte", "verts", "vertes", "VER"),
    "sauge": ("Vert sauge", "vert sauge", "vert sauge", "vert sauge", "vert sauge", "SAU"),
    "rouge": ("Rouge", "rouge", "rouge", "rouges", "rouges", "ROU"),
    "bordeaux": ("Bordeaux", "bordeaux", "bordeaux", "bordeaux", "bordeaux", "BOR"),
    "rose": ("Rose", "rose", "rose", "roses", "roses", "ROS"),
    "camel": ("Camel", "camel", "camel", "camel", "camel", "CAM"),
    "marron": ("Marron", "marron", "marron", "marron", "marron", "MRR"),
    "moutarde": ("Moutarde", "moutarde", "moutarde", "moutarde", "moutarde", "MOU"),
    "terracotta": ("Terracotta", "terracotta", "terracotta", "terracotta", "terracotta", "TER"),
    "ocre": ("Ocre", "ocre", "ocre", "ocres", "ocres", "OCR"),
    "dore": ("Doré", "doré", "dorée", "dorés", "dorées", "DOR"),
    "naturel": ("Naturel", "naturel", "naturelle", "naturels", "naturelles", "NAT"),
    "ambre": ("Ambre", "ambre", "ambre", "ambre", "ambre", "AMB"),
    "transparent": (
        "Transparent",
        "transparent",
        "transparente",
        "transparents",
        "transparentes",
        "TRA",
    ),
}
_FORMS = {"ms": 1, "fs": 2, "mp": 3, "fp": 4}

_ALPHA = ("XS", "S", "M", "L", "XL")
_ALPHA_MEN = ("S", "M", "L", "XL", "XXL")
_TROUSERS_WOMEN = ("36", "38", "40", "42", "44", "46")
_TROUSERS_MEN = ("38", "40", "42", "44", "46", "48")
_SHOES_WOMEN = ("36", "37", "38", "39", "40", "41", "42")
_SHOES_MEN = ("39", "40", "41", "42", "43", "44", "45")
_BELTS = ("85", "90", "95", "100", "105")

_WOMEN = ("Maison Célestine", "Atelier Garance", "Parcours")
_MEN = ("Les Ateliers Vauban", "Forge & Fil", "Parcours")
_SHOES = ("Cordonnerie Aubin", "Parcours")
_LEATHER = ("Maroquinerie Anselme", "Atelier Garance")
_KNIT = ("Maille & Mistral", "Parcours")
_HOME = ("Maison Hêtre", "Parcours Maison")
_LINEN = ("Lin & Lune", "Parcours Maison")
_CERAMICS = ("Brume & Grès", "Parcours Maison")


@dataclass(frozen=True, slots=True)
class _Model:
    """One product line. A name with "{c}" gives one product per colour (the colour, agreed
    with ``form``, goes in the name); a fixed name gives one product whose variants are the
    colours. Sizes and dimensions multiply the variants."""

    code: str
    category: str
    name: str
    form: str
    image: str
    prices: tuple[int, ...]
    brands: tuple[str, ...]
    pitch: str
    colours: tuple[str, ...] = ()
    count: int = 1
    sizes: tuple[str, ...] = ()
    dims: tuple[tuple[str, int], ...] = ()
    attribute: str = "couleur"


# fmt: off
_MODELS: tuple[_Model, ...] = (
    # ---- Femme: pantalons ------------------------------------------------------------------
    _Model(
        "FCHI", "femme-pantalons", "Pantalon chino {c}", "ms", "pantalon", (4990, 5990), _WOMEN,
        "Un chino taille haute à la jambe droite, qui passe du bureau au week-end sans effort.",
        ("noir", "beige", "marine", "kaki", "camel"), 5, _TROUSERS_WOMEN,
    ),
    _Model(
        "FLAR", "femme-pantalons", "Pantalon large à pinces {c}", "ms", "pantalon",
        (6990, 7990), _WOMEN,
        "Des pinces marquées et une jambe ample qui tombe jusqu'au sol pour une allure fluide.",
        ("noir", "ecru", "gris", "camel"), 3, _TROUSERS_WOMEN,
    ),
    _Model(
        "FCIG", "femme-pantalons", "Pantalon cigarette {c}", "ms", "pantalon", (5990, 6990),
        _WOMEN,
        "Coupe ajustée et longueur cheville : le pantalon qui fait une silhouette nette.",
        ("noir", "marine", "bordeaux"), 3, _TROUSERS_WOMEN,
    ),
    _Model(
        "FLIN", "femme-pantalons", "Pantalon en lin {c}", "ms", "pantalon", (5990, 6990), _WOMEN,
        "Un pantalon léger en lin lavé, taille élastiquée au dos, idéal quand il fait chaud.",
        ("ecru", "sauge", "terracotta", "noir"), 3, _TROUSERS_WOMEN,
    ),
    _Model(
        "FJDR", "femme-pantalons", "Jean droit taille haute", "ms", "pantalon", (7990, 8900),
        _WOMEN,
        "Un jean droit en denim rigide, taille haute, qui se patine joliment au fil des lavages.",
        ("brut", "delave", "noir"), 1, _TROUSERS_WOMEN,
    ),
    _Model(
        "FJFL", "femme-pantalons", "Jean flare", "ms", "pantalon", (7990, 8900), _WOMEN,
        "Un jean évasé à partir du genou, en denim stretch confortable du matin au soir.",
        ("brut", "delave"), 1, _TROUSERS_WOMEN,
    ),
    _Model(
        "FYOG", "femme-pantalons", "Pantalons de yoga {c} (lot de 2)", "mp", "pantalon",
        (3990, 4500), ("Parcours",),
        "Deux pantalons de yoga en jersey souple et respirant, qui suivent chaque mouvement.",
        ("noir", "anthracite"), 2, _TROUSERS_WOMEN,
    ),
    _Model(
        "FJOG", "femme-pantalons", "Pantalon de jogging {c} en molleton", "ms", "pantalon",
        (3990, 4500), _KNIT,
        "Un jogging en molleton gratté tout doux, avec cordon de serrage et chevilles resserrées.",
        ("chine", "marine", "noir"), 2, _TROUSERS_WOMEN,
    ),
    _Model(
        "FCAO", "femme-pantalons", "Pantalon carotte {c}", "ms", "pantalon", (5990, 6490),
        _WOMEN,
        "Un pantalon ample sur les hanches et resserré à la cheville, avec une ceinture "
        "froncée.",
        ("noir", "camel", "kaki"), 2, _TROUSERS_WOMEN,
    ),
    # ---- Femme: robes ----------------------------------------------------------------------
    _Model(
        "FRPF", "femme-robes", "Robe portefeuille fleurie", "fs", "robe", (6990, 7990), _WOMEN,
        "Une robe portefeuille en viscose imprimée de petites fleurs, nouée à la taille.",
        ("bleu", "rose", "ocre"), 1, _ALPHA,
    ),
    _Model(
        "FRCH", "femme-robes", "Robe chemise en lin {c}", "fs", "robe", (7990, 8990), _WOMEN,
        "Une robe chemise boutonnée sur toute la longueur, à porter ceinturée ou ouverte.",
        ("blanc", "sauge", "bleu", "terracotta"), 3, _ALPHA,
    ),
    _Model(
        "FRPU", "femme-robes", "Robe pull en maille côtelée {c}", "fs", "robe", (6990, 7990),
        _KNIT,
        "Une robe en grosse côte, chaude et près du corps, qui s'arrête sous le genou.",
        ("camel", "gris", "noir", "bordeaux"), 3, _ALPHA,
    ),
    _Model(
        "FRPN", "femme-robes", "Petite robe noire", "fs", "robe", (8990, 9900), _WOMEN,
        "L'indispensable : une robe droite en crêpe, col rond et dos zippé, pour toutes les "
        "occasions.",
        ("noir",), 1, _ALPHA,
    ),
    _Model(
        "FRLV", "femme-robes", "Robe longue à volants", "fs", "robe", (8990, 9900), _WOMEN,
        "Une robe longue en coton léger, étagée de volants, pour les soirées d'été.",
        ("ecru", "noir", "rouge"), 1, _ALPHA,
    ),
    _Model(
        "FRMP", "femme-robes", "Robe midi plissée {c}", "fs", "robe", (7990, 8990), _WOMEN,
        "Une robe au buste ajusté et à la jupe entièrement plissée, qui danse à chaque pas.",
        ("vert", "rose", "marine"), 3, _ALPHA,
    ),
    _Model(
        "FRTP", "femme-robes", "Robe trapèze à pois", "fs", "robe", (5990, 6990), _WOMEN,
        "Une robe trapèze semée de petits pois blancs, manches courtes et poches discrètes.",
        ("marine", "noir"), 1, _ALPHA,
    ),
    _Model(
        "FCOM", "femme-robes", "Combinaison {c} en lin", "fs", "robe", (8990, 9900), _WOMEN,
        "Une combinaison sans manches en lin lavé, jambes larges et taille nouée.",
        ("noir", "kaki", "terracotta"), 2, _ALPHA,
    ),
    _Model(
        "FRMA", "femme-robes", "Robe en maille fine {c}", "fs", "robe", (6990, 7490), _KNIT,
        "Une robe droite en maille fine de viscose, qui se porte seule ou sur un col roulé.",
        ("noir", "marine", "vert"), 2, _ALPHA,
    ),
    # ---- Femme: jupes ----------------------------------------------------------------------
    _Model(
        "FJPL", "femme-jupes", "Jupe plissée {c}", "fs", "jupe", (4990, 5990), _WOMEN,
        "Une jupe midi aux plis fins, taille élastiquée, qui se porte avec un pull comme avec "
        "un tee-shirt.",
        ("camel", "vert", "noir", "moutarde"), 3, _ALPHA,
    ),
    _Model(
        "FJJE", "femme-jupes", "Jupe en jean", "fs", "jupe", (4990, 5490), _WOMEN,
        "Une jupe en jean mi-longue, fendue devant, avec cinq poches comme un vrai jean.",
        ("brut", "delave"), 1, _TROUSERS_WOMEN,
    ),
    _Model(
        "FJPO", "femme-jupes", "Jupe portefeuille en lin {c}", "fs", "jupe", (5490, 5990),
        _WOMEN,
        "Une jupe portefeuille nouée sur le côté, en lin lavé qui ne craint pas les plis.",
        ("ecru", "terracotta", "noir"), 2, _ALPHA,
    ),
    _Model(
        "FJCR", "femme-jupes", "Jupe crayon {c}", "fs", "jupe", (4990, 5490), _WOMEN,
        "Une jupe crayon en crêpe stretch, fendue au dos, qui affine la silhouette.",
        ("noir", "bordeaux"), 2, _TROUSERS_WOMEN,
    ),
    _Model(
        "FJLF", "femme-jupes", "Jupe longue fleurie", "fs", "jupe", (5490, 5990), _WOMEN,
        "Une jupe longue et fluide imprimée de fleurs des champs, avec un volant en bas.",
        ("bleu", "ocre"), 1, _ALPHA,
    ),
    # ---- Femme: chemises -------------------------------------------------------------------
    _Model(
        "FCLI", "femme-chemises", "Chemise en lin {c}", "fs", "chemise", (5990, 6490), _WOMEN,
        "Une chemise ample en lin lavé, à porter ouverte sur un débardeur ou rentrée dans un "
        "pantalon.",
        ("blanc", "ciel", "rose", "sauge"), 4, _ALPHA,
    ),
    _Model(
        "FBLA", "femme-chemises", "Blouse lavallière {c}", "fs", "chemise", (5490, 5990), _WOMEN,
        "Une blouse fluide en crêpe, avec un col lavallière à nouer en lien ou en nœud.",
        ("ecru", "noir", "bordeaux"), 2, _ALPHA,
    ),
    _Model(
        "FCFL", "femme-chemises", "Chemisier fleuri à manches bouffantes", "ms", "chemise",
        (4990, 5490), _WOMEN,
        "Un chemisier romantique en voile de coton imprimé, aux manches volumineuses.",
        ("bleu", "ecru"), 1, _ALPHA,
    ),
    _Model(
        "FCJE", "femme-chemises", "Chemise en jean", "fs", "chemise", (5490, 5990), _WOMEN,
        "Une chemise en denim léger, deux poches plaquées, qui se porte aussi en surchemise.",
        ("delave", "brut"), 1, _ALPHA,
    ),
    _Model(
        "FBBR", "femme-chemises", "Blouse brodée", "fs", "chemise", (5990, 6490), _WOMEN,
        "Une blouse en coton léger brodée ton sur ton au col et aux poignets.",
        ("blanc", "ecru"), 1, _ALPHA,
    ),
    _Model(
        "FCRA", "femme-chemises", "Chemise rayée oversize", "fs", "chemise", (5490, 5990),
        _WOMEN,
        "Une chemise d'homme empruntée, à fines rayures, qui se porte nouée à la taille.",
        ("bleu", "vert"), 1, _ALPHA,
    ),
    # ---- Femme: tops -----------------------------------------------------------------------
    _Model(
        "FTCR", "femme-tops", "T-shirt col rond {c} en coton bio", "ms", "tshirt",
        (1990, 2500), _WOMEN,
        "Le tee-shirt de tous les jours, en jersey de coton biologique épais qui ne se déforme "
        "pas.",
        ("blanc", "noir", "marine", "rose", "chine"), 5, _ALPHA,
    ),
    _Model(
        "FMAR", "femme-tops", "Marinière en coton", "fs", "tshirt", (3490, 3990), _WOMEN,
        "La marinière classique à rayures, encolure bateau et manches trois-quarts.",
        ("marine", "rouge"), 1, _ALPHA,
    ),
    _Model(
        "FDEB", "femme-tops", "Débardeur côtelé {c}", "ms", "tshirt", (1590, 1990), _WOMEN,
        "Un débardeur près du corps en coton côtelé, parfait seul ou sous une chemise.",
        ("blanc", "noir", "ocre"), 3, _ALPHA,
    ),
    _Model(
        "FTSA", "femme-tops", "Top en satin {c}", "ms", "tshirt", (3490, 3990), _WOMEN,
        "Un top à fines bretelles en satin, qui habille un jean en un instant.",
        ("noir", "ecru", "sauge"), 2, _ALPHA,
    ),
    _Model(
        "FTLO", "femme-tops", "T-shirts basiques {c} (lot de 3)", "mp", "tshirt",
        (2990, 3490), ("Parcours",),
        "Trois tee-shirts essentiels en coton, coupe droite et col rond, à un prix doux.",
        ("blanc", "noir"), 2, _ALPHA,
    ),
    # ---- Femme: pulls ----------------------------------------------------------------------
    _Model(
        "FPCR", "femme-pulls", "Pull col roulé en mérinos {c}", "ms", "pull", (7990, 8900),
        _KNIT,
        "Un col roulé fin en laine mérinos, chaud sans épaisseur, qui ne gratte pas.",
        ("camel", "noir", "ecru", "bordeaux", "gris"), 5, _ALPHA,
    ),
    _Model(
        "FGCA", "femme-pulls", "Gilet en cachemire {c}", "ms", "pull", (12900, 14900), _KNIT,
        "Un gilet boutonné en pur cachemire, d'une douceur incomparable, à garder des années.",
        ("gris", "camel", "marine"), 3, _ALPHA,
    ),
    _Model(
        "FPTO", "femme-pulls", "Pull torsadé {c}", "ms", "pull", (6990, 7990), _KNIT,
        "Un pull généreux aux torsades épaisses, en laine et alpaga, pour les jours froids.",
        ("ecru", "vert", "moutarde"), 3, _ALPHA,
    ),
    _Model(
        "FCAR", "femme-pulls", "Cardigan court {c}", "ms", "pull", (5990, 6490), _KNIT,
        "Un cardigan court à col en V et petits boutons nacrés, à porter fermé comme un top.",
        ("rose", "ecru", "noir"), 2, _ALPHA,
    ),
    _Model(
        "FSWE", "femme-pulls", "Sweat à capuche {c}", "ms", "pull", (4990, 5490), _KNIT,
        "Un sweat à capuche en molleton de coton bio, avec une grande poche kangourou.",
        ("chine", "marine", "sauge"), 2, _ALPHA,
    ),
    _Model(
        "FMOH", "femme-pulls", "Pull en mohair {c}", "ms", "pull", (7990, 8900), _KNIT,
        "Un pull vaporeux en mohair et soie, ample et léger comme un nuage.",
        ("rose", "ecru", "vert"), 2, _ALPHA,
    ),
    # ---- Femme: vestes ---------------------------------------------------------------------
    _Model(
        "FBLZ", "femme-vestes", "Blazer croisé {c}", "ms", "veste", (11900, 12900), _WOMEN,
        "Un blazer croisé aux épaules structurées, en toile de laine, qui va aussi bien avec "
        "un jean qu'avec le pantalon assorti.",
        ("noir", "camel", "ecru"), 3, _ALPHA,
    ),
    _Model(
        "FTRE", "femme-vestes", "Trench ceinturé {c}", "ms", "manteau", (15900, 17900), _WOMEN,
        "Le trench intemporel en gabardine de coton déperlante, avec sa ceinture et ses "
        "pattes de boutonnage.",
        ("beige", "kaki", "noir"), 2, _ALPHA,
    ),
    _Model(
        "FMLA", "femme-vestes", "Manteau long en laine {c}", "ms", "manteau", (22900, 24900),
        _WOMEN,
        "Un manteau long en drap de laine, coupe droite et col tailleur, doublé de satin.",
        ("camel", "noir", "gris"), 3, _ALPHA,
    ),
    _Model(
        "FVJE", "femme-vestes", "Veste en jean", "fs", "veste", (6990, 7990), _WOMEN,
        "La veste en jean courte et légèrement oversize, à superposer toute l'année.",
        ("delave", "brut"), 1, _ALPHA,
    ),
    _Model(
        "FDOU", "femme-vestes", "Doudoune légère {c}", "fs", "manteau", (8900, 9900), _WOMEN,
        "Une doudoune fine et compressible qui tient dans son pochon, à glisser dans un sac.",
        ("noir", "marine", "kaki"), 2, _ALPHA,
    ),
    _Model(
        "FPER", "femme-vestes", "Perfecto en cuir {c}", "ms", "veste", (24900, 29900), _LEATHER,
        "Le perfecto en cuir d'agneau souple, zip en biais et col cranté, qui se patine avec "
        "le temps.",
        ("noir", "bordeaux"), 1, _ALPHA,
    ),
    _Model(
        "FVMA", "femme-vestes", "Veste matelassée {c}", "fs", "veste", (9900, 11900), _WOMEN,
        "Une veste matelassée à col rond, légère et chaude, pour la mi-saison.",
        ("noir", "kaki", "marine"), 2, _ALPHA,
    ),
    # ---- Femme: chaussures -----------------------------------------------------------------
    _Model(
        "FBAS", "femme-chaussures", "Baskets {c} en cuir", "fp", "basket", (8990, 9900), _SHOES,
        "Des baskets basses en cuir lisse, semelle en caoutchouc naturel, faciles à assortir.",
        ("blanc", "noir", "rose"), 2, _SHOES_WOMEN,
    ),
    _Model(
        "FBOT", "femme-chaussures", "Bottines {c} à talon", "fp", "bottine", (12900, 14900),
        _SHOES,
        "Des bottines en cuir à talon carré de 5 cm, zippées à l'intérieur, stables toute la "
        "journée.",
        ("noir", "camel", "bordeaux"), 3, _SHOES_WOMEN,
    ),
    _Model(
        "FBAL", "femme-chaussures", "Ballerines {c} en cuir", "fp", "chaussures", (6990, 7990),
        _SHOES,
        "Des ballerines souples à bout rond, en cuir doublé, qu'on oublie une fois aux pieds.",
        ("noir", "rouge", "dore"), 2, _SHOES_WOMEN,
    ),
    _Model(
        "FMOC", "femme-chaussures", "Mocassins {c} en cuir", "mp", "chaussures", (9900, 11900),
        _SHOES,
        "Des mocassins à semelle crantée, en cuir glacé, pour une allure un peu masculine.",
        ("noir", "bordeaux"), 2, _SHOES_WOMEN,
    ),
    _Model(
        "FSAN", "femme-chaussures", "Sandales {c} à brides", "fp", "chaussures", (5990, 6990),
        _SHOES,
        "Des sandales plates à fines brides croisées, en cuir végétal qui se fait au pied.",
        ("camel", "noir", "dore"), 2, _SHOES_WOMEN,
    ),
    _Model(
        "FESP", "femme-chaussures", "Espadrilles compensées", "fp", "chaussures", (4990, 5490),
        _SHOES,
        "Des espadrilles à semelle de corde compensée, fabriquées au Pays basque.",
        ("ecru", "marine"), 1, _SHOES_WOMEN,
    ),
    _Model(
        "FESC", "femme-chaussures", "Escarpins {c} en daim", "mp", "chaussures", (9900, 11900),
        _SHOES,
        "Des escarpins à bout pointu et talon de 7 cm, en daim doux, pour les grandes "
        "occasions.",
        ("noir", "rouge", "camel"), 2, _SHOES_WOMEN,
    ),
    _Model(
        "FBHA", "femme-chaussures", "Bottes hautes {c} en cuir", "fp", "bottine",
        (19900, 22900), _SHOES,
        "Des bottes hautes en cuir lisse, à tige souple et petit talon, doublées de cuir.",
        ("noir", "marron"), 2, _SHOES_WOMEN,
    ),
    # ---- Homme: pantalons ------------------------------------------------------------------
    _Model(
        "HCHI", "homme-pantalons", "Pantalon chino slim {c}", "ms", "pantalon", (5990, 6990),
        _MEN,
        "Un chino ajusté en twill de coton stretch, avec un bas de jambe légèrement resserré.",
        ("beige", "marine", "noir", "kaki", "vert"), 5, _TROUSERS_MEN,
    ),
    _Model(
        "HCOS", "homme-pantalons", "Pantalon de costume {c}", "ms", "pantalon", (7990, 8990),
        _MEN,
        "Un pantalon de costume en laine froide, avec un pli marqué et une ceinture ajustable.",
        ("anthracite", "marine", "noir"), 3, _TROUSERS_MEN,
    ),
    _Model(
        "HCAR", "homme-pantalons", "Pantalon cargo {c}", "ms", "pantalon", (6990, 7490), _MEN,
        "Un pantalon cargo en ripstop solide, avec de grandes poches à rabat sur les cuisses.",
        ("kaki", "noir", "beige"), 2, _TROUSERS_MEN,
    ),
    _Model(
        "HJSL", "homme-pantalons", "Jean slim", "ms", "pantalon", (6990, 7990), _MEN,
        "Un jean slim en denim stretch, taille normale, qui garde sa forme toute la journée.",
        ("brut", "noir", "delave"), 1, _TROUSERS_MEN,
    ),
    _Model(
        "HJDR", "homme-pantalons", "Jean droit coupe classique", "ms", "pantalon", (7990, 8900),
        _MEN,
        "Un jean droit en denim selvedge japonais, qui se délave à votre façon.",
        ("brut", "delave"), 1, _TROUSERS_MEN,
    ),
    _Model(
        "HVEL", "homme-pantalons", "Pantalon en velours côtelé {c}", "ms", "pantalon",
        (6990, 7990), _MEN,
        "Un pantalon droit en velours à grosses côtes, chaud et confortable tout l'hiver.",
        ("camel", "vert", "marron"), 3, _TROUSERS_MEN,
    ),
    _Model(
        "HJOG", "homme-pantalons", "Pantalons de jogging {c} (lot de 2)", "mp", "pantalon",
        (4990, 5490), ("Parcours",),
        "Deux pantalons de jogging en molleton léger, pour le sport comme pour le canapé.",
        ("noir", "chine"), 2, _TROUSERS_MEN,
    ),
    _Model(
        "HBER", "homme-pantalons", "Bermuda chino {c}", "ms", "pantalon", (3990, 4500), _MEN,
        "Un bermuda chino en coton léger, qui s'arrête juste au-dessus du genou.",
        ("beige", "marine", "kaki"), 3, _TROUSERS_MEN,
    ),
    # ---- Homme: chemises -------------------------------------------------------------------
    _Model(
        "HOXF", "homme-chemises", "Chemise Oxford {c}", "fs", "chemise", (5490, 5990), _MEN,
        "La chemise Oxford à col boutonné, en coton épais qui s'embellit au lavage.",
        ("blanc", "ciel", "rose"), 3, _ALPHA_MEN,
    ),
    _Model(
        "HCLI", "homme-chemises", "Chemise {c} en lin lavé", "fs", "chemise", (5990, 6490),
        _MEN,
        "Une chemise décontractée en lin lavé, qui se porte manches retroussées tout l'été.",
        ("blanc", "bleu", "sauge"), 3, _ALPHA_MEN,
    ),
    _Model(
        "HCFL", "homme-chemises", "Chemise en flanelle à carreaux", "fs", "chemise",
        (5490, 5990), _MEN,
        "Une chemise en flanelle brossée, chaude et douce, à porter ouverte sur un tee-shirt.",
        ("rouge", "vert", "marine"), 1, _ALPHA_MEN,
    ),
    _Model(
        "HSUR", "homme-chemises", "Surchemise en denim", "fs", "chemise", (6990, 7490), _MEN,
        "Une surchemise en denim épais, avec deux poches poitrine, entre la chemise et la "
        "veste.",
        ("delave", "brut"), 1, _ALPHA_MEN,
    ),
    _Model(
        "HCCI", "homme-chemises", "Chemise cintrée {c} à col italien", "fs", "chemise",
        (4990, 5490), _MEN,
        "Une chemise de ville en popeline sans repassage, coupe cintrée et col italien.",
        ("blanc", "ciel"), 2, _ALPHA_MEN,
    ),
    # ---- Homme: t-shirts -------------------------------------------------------------------
    _Model(
        "HTEP", "homme-tshirts", "T-shirt épais {c} en coton", "ms", "tshirt", (2490, 2990),
        _MEN,
        "Un tee-shirt en jersey lourd de 220 g, coupe droite, qui garde sa tenue lavage après "
        "lavage.",
        ("blanc", "noir", "marine", "kaki"), 4, _ALPHA_MEN,
    ),
    _Model(
        "HPOL", "homme-tshirts", "Polo piqué {c}", "ms", "tshirt", (3990, 4500), _MEN,
        "Le polo en maille piquée de coton, col côtelé et patte à deux boutons.",
        ("marine", "blanc", "vert", "bordeaux"), 3, _ALPHA_MEN,
    ),
    _Model(
        "HTRA", "homme-tshirts", "T-shirt rayé", "ms", "tshirt", (2990, 3490), _MEN,
        "Un tee-shirt à fines rayures horizontales, inspiré des tricots de marins bretons.",
        ("marine", "rouge"), 1, _ALPHA_MEN,
    ),
    # ---- Homme: pulls ----------------------------------------------------------------------
    _Model(
        "HPCR", "homme-pulls", "Pull col rond {c} en laine d'agneau", "ms", "pull",
        (6990, 7990), _KNIT,
        "Un pull col rond en laine d'agneau, assez fin pour se glisser sous une veste.",
        ("marine", "gris", "bordeaux", "vert"), 3, _ALPHA_MEN,
    ),
    _Model(
        "HPCA", "homme-pulls", "Pull camionneur {c}", "ms", "pull", (7990, 8900), _KNIT,
        "Un pull à col zippé en maille épaisse, chaud et facile à porter sur une chemise.",
        ("ecru", "marine", "marron"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HCRD", "homme-pulls", "Cardigan {c} en maille épaisse", "ms", "pull", (8900, 9900),
        _KNIT,
        "Un cardigan à col châle en grosse maille, à porter comme une veste à la maison.",
        ("gris", "camel"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HSWE", "homme-pulls", "Sweat col rond {c}", "ms", "pull", (4990, 5490), _KNIT,
        "Un sweat en molleton de coton bio gratté à l'intérieur, avec bords côtes.",
        ("chine", "marine", "noir"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HPMA", "homme-pulls", "Pull marin rayé", "ms", "pull", (7990, 8900), _KNIT,
        "Le pull marin en laine, boutonné sur l'épaule, tricoté en Bretagne.",
        ("marine", "rouge"), 1, _ALPHA_MEN,
    ),
    _Model(
        "HSCZ", "homme-pulls", "Sweat à capuche zippé {c}", "ms", "pull", (5990, 6490), _KNIT,
        "Un sweat zippé à capuche en molleton épais, avec deux poches latérales.",
        ("chine", "noir", "kaki"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HPCV", "homme-pulls", "Pull col V {c} en mérinos", "ms", "pull", (6990, 7990), _KNIT,
        "Un pull col V en mérinos extra-fin, à porter sur une chemise ou à même la peau.",
        ("marine", "bordeaux", "gris"), 2, _ALPHA_MEN,
    ),
    # ---- Homme: vestes ---------------------------------------------------------------------
    _Model(
        "HVCO", "homme-vestes", "Veste de costume {c}", "fs", "veste", (14900, 17900), _MEN,
        "Une veste de costume non doublée en laine, légère et souple, qui se porte aussi avec "
        "un jean.",
        ("marine", "anthracite", "noir"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HCAB", "homme-vestes", "Caban en laine {c}", "ms", "manteau", (19900, 22900), _MEN,
        "Le caban croisé en drap de laine épais, avec ses boutons ancre et son grand col.",
        ("marine", "noir"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HPAR", "homme-vestes", "Parka {c} à capuche", "fs", "manteau", (17900, 19900), _MEN,
        "Une parka imperméable doublée de polaire, avec capuche amovible et poches chauffantes.",
        ("kaki", "marine", "noir"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HVVE", "homme-vestes", "Veste en velours côtelé", "fs", "veste", (12900, 14900), _MEN,
        "Une veste en velours côtelé coupe blazer, entre l'élégance et le décontracté.",
        ("camel", "marron", "vert"), 1, _ALPHA_MEN,
    ),
    _Model(
        "HBLO", "homme-vestes", "Blouson en cuir {c}", "ms", "veste", (27900, 29900), _LEATHER,
        "Un blouson en cuir de vachette pleine fleur, coupe courte et col montant.",
        ("noir", "marron"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HDSM", "homme-vestes", "Doudoune sans manches", "fs", "manteau", (7990, 8990), _MEN,
        "Une doudoune sans manches légère, garnie de duvet recyclé, à porter sous un manteau.",
        ("noir", "marine", "kaki"), 1, _ALPHA_MEN,
    ),
    _Model(
        "HPDS", "homme-vestes", "Pardessus en laine {c}", "ms", "manteau", (24900, 27900), _MEN,
        "Un pardessus mi-long en laine et cachemire, sobre et chaud, pour la ville.",
        ("camel", "anthracite"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HVTR", "homme-vestes", "Veste de travail en moleskine {c}", "fs", "veste",
        (9900, 10900), _MEN,
        "La veste de travail à trois poches plaquées, en moleskine de coton qui se patine.",
        ("marine", "vert", "noir"), 2, _ALPHA_MEN,
    ),
    _Model(
        "HTRE", "homme-vestes", "Trench {c} déperlant", "ms", "manteau", (17900, 19900), _MEN,
        "Un trench mi-long en coton déperlant, avec ceinture et col à revers.",
        ("beige", "marine"), 1, _ALPHA_MEN,
    ),
    # ---- Homme: chaussures -----------------------------------------------------------------
    _Model(
        "HDER", "homme-chaussures", "Derbies {c} en cuir", "mp", "chaussures", (12900, 14900),
        _SHOES,
        "Des derbies en cuir de veau, cousus Goodyear, que l'on peut ressemeler.",
        ("noir", "marron"), 2, _SHOES_MEN,
    ),
    _Model(
        "HBAS", "homme-chaussures", "Baskets {c} en toile", "fp", "basket", (5990, 6990), _SHOES,
        "Des baskets basses en toile de coton épaisse et semelle vulcanisée.",
        ("blanc", "marine", "noir"), 3, _SHOES_MEN,
    ),
    _Model(
        "HBOO", "homme-chaussures", "Boots Chelsea {c} en daim", "fp", "bottine", (13900, 14900),
        _SHOES,
        "Des boots Chelsea en daim avec élastiques latéraux, faciles à enfiler.",
        ("camel", "noir"), 2, _SHOES_MEN,
    ),
    _Model(
        "HMOC", "homme-chaussures", "Mocassins à pampilles", "mp", "chaussures",
        (11900, 12900), _SHOES,
        "Des mocassins à pampilles en cuir souple, à porter avec ou sans chaussettes.",
        ("marron", "bordeaux"), 1, _SHOES_MEN,
    ),
    _Model(
        "HRUN", "homme-chaussures", "Baskets de running", "fp", "basket", (8990, 9900),
        ("Parcours",),
        "Des baskets de running légères et amorties, pour courir jusqu'à 15 km.",
        ("gris", "noir", "bleu"), 1, _SHOES_MEN,
    ),
    _Model(
        "HBAT", "homme-chaussures", "Chaussures bateau {c} en cuir", "fp", "chaussures",
        (8990, 9900), _SHOES,
        "Des chaussures bateau en cuir huilé, avec leur lacet qui fait le tour du pied.",
        ("marron", "marine"), 1, _SHOES_MEN,
    ),
    # ---- Accessoires -----------------------------------------------------------------------
    _Model(
        "ACAB", "accessoires-sacs", "Cabas en cuir {c}", "ms", "sac", (12900, 14900), _LEATHER,
        "Un grand cabas en cuir grainé qui avale un ordinateur, avec une pochette intérieure "
        "zippée.",
        ("camel", "noir", "bordeaux"), 3,
    ),
    _Model(
        "ASEA", "accessoires-sacs", "Sac seau {c}", "ms", "sac", (8900, 9900), _LEATHER,
        "Un sac seau en cuir souple fermé par un lien coulissant, à porter à l'épaule.",
        ("camel", "noir", "vert"), 2,
    ),
    _Model(
        "ABAN", "accessoires-sacs", "Sac banane", "ms", "sac", (3990, 4500), ("Parcours",),
        "Un sac banane en nylon recyclé, à porter à la taille ou en bandoulière.",
        ("noir", "camel", "kaki"),
    ),
    _Model(
        "ATOT", "accessoires-sacs", "Tote bag en toile", "ms", "sac", (1990, 2490),
        ("Parcours",),
        "Un tote bag en toile de coton épaisse, assez grand pour les courses du marché.",
        ("ecru", "noir"),
    ),
    _Model(
        "ADOS", "accessoires-sacs", "Sac à dos {c} en toile enduite", "ms", "sac", (7990, 8990),
        _LEATHER,
        "Un sac à dos en toile enduite imperméable, avec une poche matelassée pour l'ordinateur.",
        ("noir", "marine", "kaki"), 2,
    ),
    _Model(
        "APOC", "accessoires-sacs", "Pochette {c} en cuir", "fs", "sac", (4990, 5990), _LEATHER,
        "Une pochette plate en cuir, à porter à la main ou avec sa chaînette amovible.",
        ("noir", "dore"), 2,
    ),
    _Model(
        "ABAD", "accessoires-sacs", "Sac bandoulière {c} en cuir", "ms", "sac", (9900, 11900),
        _LEATHER,
        "Un sac bandoulière compact en cuir lisse, avec une bandoulière réglable.",
        ("noir", "camel", "bordeaux", "vert"), 3,
    ),
    _Model(
        "APCA", "accessoires-sacs", "Porte-cartes {c} en cuir", "ms", "sac", (2490, 2990),
        _LEATHER,
        "Un porte-cartes fin en cuir, avec quatre fentes et une poche centrale pour les billets.",
        ("noir", "camel", "vert", "bordeaux"), 3,
    ),
    _Model(
        "AECH", "accessoires-echarpes", "Écharpe {c} en laine", "fs", "echarpe", (3990, 4500),
        _KNIT,
        "Une grande écharpe en laine douce, assez longue pour faire deux tours.",
        ("gris", "camel", "bordeaux", "moutarde"), 4,
    ),
    _Model(
        "AFOU", "accessoires-echarpes", "Foulard imprimé en soie", "ms", "echarpe",
        (4990, 5990), _WOMEN,
        "Un carré de soie imprimé, à nouer au cou, dans les cheveux ou sur l'anse d'un sac.",
        ("bleu", "rouge", "vert"),
    ),
    _Model(
        "ACHE", "accessoires-echarpes", "Chèche {c} en coton", "ms", "echarpe", (2490, 2990),
        _MEN,
        "Un chèche léger en coton tissé, pour protéger du vent sans tenir chaud.",
        ("kaki", "ecru"), 2,
    ),
    _Model(
        "AETO", "accessoires-echarpes", "Étole {c} en cachemire", "fs", "echarpe",
        (9900, 11900), _KNIT,
        "Une étole en pur cachemire, fine et enveloppante, à porter en châle le soir.",
        ("gris", "rose", "noir"), 2,
    ),
    _Model(
        "ASNO", "accessoires-echarpes", "Snood {c} en laine", "ms", "echarpe", (2990, 3490),
        _KNIT,
        "Un snood en laine côtelée qui s'enfile sans nœud et protège le cou du vent.",
        ("gris", "noir"), 1,
    ),
    _Model(
        "ACEI", "accessoires-ceintures", "Ceinture {c} en cuir", "fs", "ceinture",
        (3990, 4500), _LEATHER,
        "Une ceinture en cuir pleine fleur avec une boucle en laiton brossé.",
        ("noir", "marron", "camel"), 3, _BELTS,
    ),
    _Model(
        "ACTR", "accessoires-ceintures", "Ceinture tressée", "fs", "ceinture", (3490, 3990),
        _LEATHER,
        "Une ceinture tressée en cuir, dont l'ardillon se glisse où l'on veut dans le tressage.",
        ("camel", "noir"), 1, _BELTS,
    ),
    _Model(
        "ABON", "accessoires-chapeaux", "Bonnet {c} en laine côtelée", "ms", "bonnet",
        (2490, 2990), _KNIT,
        "Un bonnet à revers en laine côtelée, chaud et bien ajusté.",
        ("noir", "moutarde", "gris", "bordeaux"), 4,
    ),
    _Model(
        "ACHP", "accessoires-chapeaux", "Chapeau de paille", "ms", "bonnet", (3490, 3990),
        _WOMEN,
        "Un chapeau de paille tressée à large bord, avec un ruban en gros-grain.",
        ("naturel",), 1, ("S/M", "M/L"),
    ),
    _Model(
        "ACAS", "accessoires-chapeaux", "Casquette {c} en coton", "fs", "bonnet", (2490, 2990),
        _MEN,
        "Une casquette en sergé de coton délavé, réglable à l'arrière.",
        ("marine", "beige"), 2,
    ),
    _Model(
        "AGAN", "accessoires-chapeaux", "Gants {c} en cuir", "mp", "bonnet", (4990, 5990),
        _LEATHER,
        "Des gants en cuir d'agneau doublés de cachemire, compatibles avec les écrans tactiles.",
        ("noir", "marron", "bordeaux"), 2, ("S", "M", "L"),
    ),
    # ---- Maison: luminaires ----------------------------------------------------------------
    _Model(
        "LCHE", "maison-luminaires", "Lampe de chevet en laiton", "fs", "lampe", (8900, 9900),
        _HOME,
        "Une petite lampe au pied en laiton massif et à l'abat-jour en lin, pour une lumière "
        "douce.",
        ("ecru", "vert", "terracotta"),
    ),
    _Model(
        "LBUR", "maison-luminaires", "Lampe de bureau orientable {c}", "fs", "lampe",
        (6990, 7990), _HOME,
        "Une lampe d'architecte en acier laqué, au bras articulé qui s'oriente dans tous les "
        "sens.",
        ("noir", "vert", "blanc"), 2,
    ),
    _Model(
        "LSUS", "maison-luminaires", "Suspension en rotin", "fs", "suspension", (7990, 8990),
        _HOME,
        "Une suspension en rotin tressé à la main, qui dessine de jolies ombres au plafond.",
        dims=(("Ø 35 cm", 0), ("Ø 50 cm", 3000)),
    ),
    _Model(
        "LLAM", "maison-luminaires", "Lampadaire arc en métal {c}", "ms", "lampe",
        (17900, 19900), _HOME,
        "Un lampadaire à grand arc qui éclaire la table basse sans plafonnier.",
        ("noir", "dore"), 2,
    ),
    _Model(
        "LAPP", "maison-luminaires", "Applique murale en céramique {c}", "fs", "suspension",
        (5990, 6990), _CERAMICS,
        "Une applique en céramique émaillée, façonnée à la main, à brancher ou à raccorder.",
        ("blanc", "terracotta"), 2,
    ),
    _Model(
        "LBAL", "maison-luminaires", "Lampe baladeuse sans fil", "fs", "lampe", (4990, 5990),
        _HOME,
        "Une lampe rechargeable à emporter du salon au balcon, avec trois intensités.",
        ("noir", "blanc", "sauge"),
    ),
    _Model(
        "LCER", "maison-luminaires", "Lampe à poser en céramique {c}", "fs", "lampe",
        (9900, 11900), _CERAMICS,
        "Une lampe au pied en céramique émaillée et à l'abat-jour plissé en coton.",
        ("ecru", "terracotta", "sauge"), 2,
    ),
    # ---- Maison: linge ---------------------------------------------------------------------
    _Model(
        "LCOU", "maison-linge", "Housse de coussin en lin {c}", "fs", "coussin", (2490, 2990),
        _LINEN,
        "Une housse de coussin en lin lavé, fermée par un zip invisible.",
        ("ecru", "terracotta", "sauge", "moutarde"), 3,
        dims=(("40 × 40 cm", 0), ("50 × 50 cm", 500)),
    ),
    _Model(
        "LCVE", "maison-linge", "Coussin en velours {c}", "ms", "coussin", (3490, 3990), _HOME,
        "Un coussin moelleux en velours de coton, garni de plumes, avec une housse amovible.",
        ("vert", "rose", "moutarde"), 2, dims=(("45 × 45 cm", 0),),
    ),
    _Model(
        "LPLA", "maison-linge", "Plaid en laine {c}", "ms", "plaid", (6990, 7990), _LINEN,
        "Un plaid en laine tissée en Écosse, chaud et léger, pour les soirées sur le canapé.",
        ("gris", "camel", "ecru"), 2, dims=(("130 × 170 cm", 0),),
    ),
    _Model(
        "LPFR", "maison-linge", "Plaid à franges en coton", "ms", "plaid", (4990, 5490),
        _LINEN,
        "Un plaid en coton recyclé tissé en chevrons, terminé par de petites franges.",
        ("ecru", "terracotta"), 1, dims=(("130 × 170 cm", 0),),
    ),
    _Model(
        "LHCO", "maison-linge", "Housse de couette en lin lavé", "fs", "linge", (11900, 12900),
        _LINEN,
        "Une housse de couette en pur lin lavé, fraîche l'été et douce l'hiver.",
        ("blanc", "sauge", "terracotta"), 1,
        dims=(("140 × 200 cm", 0), ("240 × 220 cm", 4000), ("260 × 240 cm", 6000)),
    ),
    _Model(
        "LDRA", "maison-linge", "Draps housses {c} en percale (lot de 2)", "mp", "linge",
        (5990, 6490), _LINEN,
        "Deux draps housses en percale de coton, avec bonnets de 30 cm pour les matelas "
        "épais.",
        ("blanc", "gris"), 2,
        dims=(("90 × 190 cm", 0), ("140 × 190 cm", 1000), ("160 × 200 cm", 2000)),
    ),
    _Model(
        "LSER", "maison-linge", "Serviettes de bain {c} en coton bio", "fp", "linge",
        (2990, 3490), _LINEN,
        "Deux serviettes en éponge de coton bio, épaisses et très absorbantes.",
        ("blanc", "sauge", "rose"), 2,
        dims=(("50 × 100 cm", 0), ("70 × 140 cm", 1000)),
    ),
    _Model(
        "LNAP", "maison-linge", "Nappe {c} en lin", "fs", "linge", (6990, 7990), _LINEN,
        "Une nappe en lin épais, traitée anti-taches, qui se lave à 40 °C.",
        ("blanc", "sauge"), 2, dims=(("150 × 250 cm", 0), ("150 × 300 cm", 1000)),
    ),
    _Model(
        "LJET", "maison-linge", "Jeté de lit en gaze de coton", "ms", "plaid", (7990, 8990),
        _LINEN,
        "Un jeté de lit en double gaze de coton, froissé et léger, qui habille le lit en un "
        "geste.",
        ("ecru", "rose", "sauge"), 1, dims=(("180 × 260 cm", 0), ("260 × 260 cm", 2000)),
    ),
    _Model(
        "LRID", "maison-linge", "Rideau {c} en lin", "ms", "linge", (5990, 6990), _LINEN,
        "Un rideau en lin lavé à œillets, qui filtre la lumière sans assombrir la pièce.",
        ("ecru", "sauge", "terracotta"), 2, dims=(("140 × 260 cm", 0),),
    ),
    _Model(
        "LTAI", "maison-linge", "Taies d'oreiller en percale (lot de 2)", "fp", "linge",
        (2490, 2990), _LINEN,
        "Deux taies d'oreiller en percale de coton, fraîches et lisses, fermées par un rabat.",
        ("blanc", "gris", "sauge"), 1, dims=(("50 × 70 cm", 0), ("65 × 65 cm", 0)),
    ),
    _Model(
        "LTAP", "maison-linge", "Tapis berbère en laine", "ms", "plaid", (19900, 22900), _HOME,
        "Un tapis en laine tissé à la main, avec ses motifs géométriques et ses franges.",
        dims=(("120 × 170 cm", 0), ("160 × 230 cm", 10000)),
    ),
    # ---- Maison: décoration ----------------------------------------------------------------
    _Model(
        "DVAS", "maison-decoration", "Vase {c} en grès", "ms", "vase", (3490, 3990), _CERAMICS,
        "Un vase en grès tourné à la main, émaillé à l'intérieur pour recevoir de l'eau.",
        ("ecru", "terracotta", "sauge"), 3, dims=(("Hauteur 20 cm", 0), ("Hauteur 30 cm", 1500)),
    ),
    _Model(
        "DSOL", "maison-decoration", "Vase soliflore en verre", "ms", "vase", (1490, 1990),
        _HOME,
        "Un petit vase soliflore en verre soufflé, pour une seule fleur ou une branche.",
        ("ambre", "vert", "transparent"),
    ),
    _Model(
        "DMIR", "maison-decoration", "Miroir rond en rotin", "ms", "miroir", (6990, 7990),
        _HOME,
        "Un miroir rond cerclé de rotin tressé, qui ensoleille une entrée.",
        dims=(("Ø 40 cm", 0), ("Ø 60 cm", 3000)),
    ),
    _Model(
        "DMIL", "maison-decoration", "Miroir {c} en métal", "ms", "miroir", (8900, 9900), _HOME,
        "Un grand miroir à fin cadre métallique, à poser au sol ou à accrocher.",
        ("noir", "dore"), 2, dims=(("50 × 150 cm", 0),),
    ),
    _Model(
        "DBOU", "maison-decoration", "Bougeoirs en laiton (lot de 3)", "mp", "bougie",
        (3990, 4500), _HOME,
        "Trois bougeoirs de hauteurs différentes en laiton, à regrouper sur une table.",
        ("dore",),
    ),
    _Model(
        "DPAN", "maison-decoration", "Panier tressé en jonc de mer", "ms", "vase", (2990, 3490),
        _HOME,
        "Un panier souple en jonc de mer, pour ranger les plaids ou cacher un pot de fleurs.",
        dims=(("Ø 30 cm", 0), ("Ø 40 cm", 1000)),
    ),
    _Model(
        "DCAD", "maison-decoration", "Cadre photo en chêne", "ms", "cadre", (1990, 2490), _HOME,
        "Un cadre en chêne massif huilé, avec un verre et un passe-partout blanc.",
        dims=(("13 × 18 cm", 0), ("20 × 30 cm", 1000), ("30 × 40 cm", 2000)),
    ),
    _Model(
        "DPHO", "maison-decoration", "Photophores en verre (lot de 2)", "mp", "bougie",
        (1990, 2490), _HOME,
        "Deux photophores en verre épais pour protéger la flamme des bougies chauffe-plat.",
        ("ambre", "transparent"),
    ),
    # ---- Maison: cuisine -------------------------------------------------------------------
    _Model(
        "CMUG", "maison-cuisine", "Mug {c} en grès", "ms", "mug", (1290, 1490), _CERAMICS,
        "Un mug de 35 cl en grès émaillé, agréable à tenir, qui garde le café au chaud.",
        ("ecru", "sauge", "terracotta", "bleu"), 4,
    ),
    _Model(
        "CASS", "maison-cuisine", "Assiettes plates en grès (lot de 4)", "fp", "assiette",
        (4990, 5490), _CERAMICS,
        "Quatre assiettes plates de 27 cm en grès émaillé, aux bords légèrement irréguliers.",
        ("ecru", "sauge", "bleu"),
    ),
    _Model(
        "CBOL", "maison-cuisine", "Bols {c} émaillés (lot de 4)", "mp", "assiette", (2990, 3490),
        _CERAMICS,
        "Quatre bols de 60 cl pour les soupes, les salades et les petits-déjeuners.",
        ("bleu", "blanc", "ocre"), 2,
    ),
    _Model(
        "CCAR", "maison-cuisine", "Carafe en verre recyclé", "fs", "vase", (1990, 2490), _HOME,
        "Une carafe d'un litre en verre recyclé soufflé, avec son verre qui sert de bouchon.",
        ("transparent", "vert"),
    ),
    _Model(
        "CVER", "maison-cuisine", "Verres à eau striés (lot de 6)", "mp", "mug", (2490, 2990),
        _HOME,
        "Six verres à eau de 25 cl à fines stries, qui passent au lave-vaisselle.",
        ("transparent", "ambre"),
    ),
    _Model(
        "CTHE", "maison-cuisine", "Théière {c} en fonte", "fs", "mug", (4990, 5990), _HOME,
        "Une théière d'un litre en fonte émaillée, avec un filtre en inox pour le thé en vrac.",
        ("noir", "rouge"), 2,
    ),
    _Model(
        "CTOR", "maison-cuisine", "Torchons en lin (lot de 2)", "mp", "linge", (1990, 2490),
        _LINEN,
        "Deux torchons en lin épais qui essuient sans laisser de peluches.",
        ("ecru", "rouge"),
    ),
    _Model(
        "CTAB", "maison-cuisine", "Tablier {c} en lin", "ms", "linge", (2990, 3490), _LINEN,
        "Un tablier de cuisine en lin, avec une grande poche et des liens croisés au dos.",
        ("ecru", "sauge"), 2,
    ),
    _Model(
        "CSAL", "maison-cuisine", "Saladier {c} en grès", "ms", "assiette", (3490, 3990),
        _CERAMICS,
        "Un grand saladier de 28 cm en grès émaillé, pour servir à partager.",
        ("ecru", "sauge", "bleu"), 2,
    ),
    _Model(
        "CPLA", "maison-cuisine", "Plateau en bois de manguier", "ms", "assiette",
        (2990, 3490), _HOME,
        "Un plateau de service en bois de manguier huilé, avec deux poignées taillées dans la "
        "masse.",
        dims=(("40 cm", 0), ("50 cm", 1000)),
    ),
    _Model(
        "CESP", "maison-cuisine", "Tasses à espresso {c} (lot de 4)", "fp", "mug",
        (2490, 2990), _CERAMICS,
        "Quatre petites tasses de 8 cl en grès, pour un café serré bien chaud.",
        ("ecru", "terracotta", "noir"), 2,
    ),
    # ---- Maison: bougies -------------------------------------------------------------------
    _Model(
        "BPAR", "maison-bougies", "Bougie parfumée en verre ambré", "fs", "bougie",
        (2990, 3490), _HOME,
        "Une bougie en cire végétale coulée à la main, pour environ quarante heures de "
        "combustion.",
        ("Figuier", "Fleur d'oranger", "Bois de cèdre", "Lavande"), 1,
        dims=(("180 g", 0), ("320 g", 1500)), attribute="parfum",
    ),
    _Model(
        "BDIF", "maison-bougies", "Diffuseur de parfum à bâtonnets", "ms", "bougie",
        (3490, 3990), _HOME,
        "Un diffuseur de 100 ml et ses bâtonnets de rotin, qui parfume une pièce pendant deux "
        "mois.",
        ("Figuier", "Fleur d'oranger", "Bois de cèdre"), 1, attribute="parfum",
    ),
    _Model(
        "BCER", "maison-bougies", "Bougie parfumée en céramique {c}", "fs", "bougie",
        (3990, 4500), _HOME,
        "Une bougie au parfum de figuier coulée dans un pot en céramique, qui devient un "
        "cache-pot une fois terminée.",
        ("sauge", "terracotta"), 2,
    ),
    _Model(
        "BLON", "maison-bougies", "Bougies longues {c} (lot de 4)", "fp", "bougie", (990, 1290),
        _HOME,
        "Quatre bougies de table en cire teintée dans la masse, qui ne coulent pas.",
        ("blanc", "rouge", "sauge", "ocre"), 3,
    ),
    _Model(
        "BCHA", "maison-bougies", "Bougies chauffe-plat (lot de 50)", "fp", "bougie",
        (790, 990), ("Parcours Maison",),
        "Cinquante bougies chauffe-plat non parfumées, pour les photophores et les réchauds.",
    ),
)
# fmt: on


_CATEGORY_NOTES: dict[str, tuple[str, ...]] = {
    "femme-pantalons": (
        "Notre mannequin mesure 1,75 m et porte la taille 38.",
        "Taille normalement : prenez votre taille habituelle.",
        "Se porte aussi bien avec des baskets qu'avec des escarpins.",
    ),
    "femme-robes": (
        "Notre mannequin mesure 1,75 m et porte la taille S.",
        "Taille normalement : prenez votre taille habituelle.",
        "Se porte aussi bien en ville qu'en week-end, avec des sandales ou des bottines.",
    ),
    "femme-jupes": (
        "Taille normalement : prenez votre taille habituelle.",
        "Facile à associer avec un pull fin ou une chemise rentrée.",
    ),
    "femme-chemises": (
        "Coupe légèrement ample : prenez votre taille habituelle.",
        "Lavage à 30 °C, repassage doux sur l'envers.",
    ),
    "femme-tops": (
        "Coupe droite : prenez votre taille habituelle.",
        "Lavable en machine à 30 °C sans perdre sa forme.",
    ),
    "femme-pulls": (
        "Maille tricotée au Portugal dans un atelier partenaire.",
        "Coupe droite : prenez votre taille habituelle.",
        "À laver sur l'envers, à 30 °C maximum.",
    ),
    "femme-vestes": (
        "Prenez votre taille habituelle, ou la taille au-dessus pour la porter sur un gros pull.",
        "Notre mannequin mesure 1,75 m et porte la taille S.",
    ),
    "femme-chaussures": (
        "Chaussant normal : prenez votre pointure habituelle.",
        "Livraison avec un sac à chaussures en coton.",
    ),
    "homme-pantalons": (
        "Notre mannequin mesure 1,85 m et porte la taille 42.",
        "Taille normalement : prenez votre taille habituelle.",
        "Ourlet offert en magasin sur simple demande.",
    ),
    "homme-chemises": (
        "Coupe droite : prenez votre taille habituelle.",
        "Lavage à 40 °C, repassage facile.",
        "Boutons en corozo, une graine de palmier plus durable que le plastique.",
    ),
    "homme-tshirts": (
        "Coupe droite : prenez votre taille habituelle.",
        "Lavable en machine à 30 °C sans perdre sa forme.",
        "Notre mannequin mesure 1,85 m et porte la taille M.",
    ),
    "homme-pulls": (
        "Maille tricotée au Portugal dans un atelier partenaire.",
        "Coupe droite : prenez votre taille habituelle.",
        "À laver sur l'envers, à 30 °C maximum.",
    ),
    "homme-vestes": (
        "Coupe droite : prenez votre taille habituelle.",
        "Une poche intérieure accueille le téléphone et le portefeuille.",
    ),
    "homme-chaussures": (
        "Chaussant normal : prenez votre pointure habituelle.",
        "Livraison avec un sac à chaussures en coton.",
    ),
    "accessoires-sacs": (
        "Livraison dans un pochon de protection en coton.",
        "Chaque pièce est contrôlée à la main avant de partir de l'atelier.",
    ),
    "accessoires-echarpes": (
        "Lavage à la main, à l'eau froide.",
        "Une idée de cadeau qui plaît à tous les coups.",
    ),
    "accessoires-ceintures": (
        "Pour choisir la taille, ajoutez 10 cm à votre tour de taille.",
        "Cuir tanné au végétal dans une tannerie française.",
    ),
    "accessoires-chapeaux": (
        "Une idée de cadeau qui plaît à tous les coups.",
        "Fabrication européenne, dans un atelier familial.",
    ),
    "maison-luminaires": (
        "Dessin de notre studio lyonnais, fabrication au Portugal.",
        "Expédition dans un emballage en carton recyclé, sans plastique.",
    ),
    "maison-linge": (
        "Certification OEKO-TEX : sans substances nocives pour la peau.",
        "Tissage serré et coutures renforcées, pour durer des années.",
    ),
    "maison-decoration": (
        "Chaque pièce est légèrement différente : c'est la marque d'un travail artisanal.",
        "Expédition dans un emballage en carton recyclé, sans plastique.",
    ),
    "maison-cuisine": (
        "Chaque pièce est légèrement différente : c'est la marque d'un travail artisanal.",
        "Expédition dans un emballage en carton recyclé, sans plastique.",
    ),
    "maison-bougies": (
        "Fabrication à Grasse, dans un atelier familial.",
        "Expédition dans un emballage en carton recyclé, sans plastique.",
    ),
}
_SERVICE_NOTES = (
    "Retour gratuit en magasin sous 30 jours.",
    "Emballage cadeau offert sur demande.",
    "Retrait gratuit dans nos magasins.",
)


def _channels(rng: random.Random) -> tuple[str, ...]:
    roll = rng.random()
    if roll < 0.04:
        return ("store",)
    if roll < 0.07:
        return ("web",)
    if roll < 0.11:
        return ("web", "app")
    if roll < 0.30:
        return ("web", "app", "store")
    return CHANNELS


def _join_fr(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " et " + words[-1]


def _value_label(model: _Model, value: str) -> tuple[str, str]:
    """(attribute label, SKU code) of one colour key or, for other attributes, raw value."""
    if model.attribute == "couleur":
        colour = _COLOURS[value]
        return colour[0], colour[5]
    return value, _code(value)


def _description(
    model: _Model, colours: Sequence[str], channels: tuple[str, ...], rng: random.Random
) -> str:
    sentences = [model.pitch, rng.choice(_CATEGORY_NOTES[model.category])]
    if channels == ("store",):
        sentences.append("Disponible uniquement dans nos magasins.")
    elif "store" not in channels:
        sentences.append("Exclusivité web : disponible uniquement en ligne.")
    else:
        roll = rng.random()
        if roll < 0.45 and colours:
            if "{c}" in model.name:
                sentences.append(f"Coloris présenté : {_COLOURS[colours[0]][1]}.")
            elif len(colours) > 1:
                noun = "coloris" if model.attribute == "couleur" else "parfums"
                labels = [_value_label(model, value)[0].lower() for value in colours]
                sentences.append(f"Existe en {len(colours)} {noun} : {_join_fr(labels)}.")
        elif roll < 0.7:
            sentences.append(rng.choice(_SERVICE_NOTES))
    return " ".join(sentences)


def demo_products(seed: int = 7) -> list[DemoProduct]:
    """About 300 products and 1,500 variants; the same seed always gives the same catalogue."""
    rng = random.Random(seed)
    products: list[DemoProduct] = []
    slugs: set[str] = set()
    item_reference = 0

    def build(model: _Model, name: str, colours: Sequence[str]) -> DemoProduct:
        nonlocal item_reference
        price = rng.choice(model.prices)
        channels = _channels(rng)
        variants: list[DemoVariant] = []
        values: list[str | None] = [*colours] or [None]
        for value in values:
            for size in model.sizes or (None,):
                for dimension, extra_cents in model.dims or ((None, 0),):
                    attributes: dict[str, str] = {}
                    sku_parts = [model.code]
                    if size is not None:
                        attributes["taille"] = size
                    if value is not None:
                        label, code = _value_label(model, value)
                        attributes[model.attribute] = label
                        sku_parts.append(code)
                    if size is not None:
                        sku_parts.append(_code(size))
                    if dimension is not None:
                        attributes["dimensions"] = dimension
                        sku_parts.append(_code(dimension))
                    if len(sku_parts) == 1:
                        sku_parts.append("U")
                    item_reference += 1
                    first12 = f"{GTIN_COMPANY_PREFIX}{item_reference:05d}"
                    variants.append(
                        DemoVariant(
                            sku="-".join(sku_parts),
                            gtin=first12 + gtin13_check_digit(first12),
                            attributes=attributes,
                            price_cents=price + extra_cents if extra_cents else None,
                        )
                    )
        slug = base = _slugify(name)
        suffix = 2
        while slug in slugs:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        slugs.add(slug)
        return DemoProduct(
            slug=slug,
            name=name,
            description=_description(model, colours, channels, rng),
            brand=rng.choice(model.brands),
            category_slug=model.category,
            price_cents=price,
            currency="EUR",
            image_urls=(f"{IMAGE_URL_PREFIX}{model.image}.svg",),
            channels=channels,
            variants=tuple(variants),
        )

    for model in _MODELS:
        if "{c}" in model.name:
            chosen = set(rng.sample(model.colours, model.count))
            form = _FORMS[model.form]
            for colour in (key for key in model.colours if key in chosen):
                products.append(build(model, model.name.format(c=_COLOURS[colour][form]), [colour]))
        else:
            products.append(build(model, model.name, model.colours))
    return products


# --------------------------------------------------------------------------------------------
# Stock
# --------------------------------------------------------------------------------------------

#: How deep each store's assortment is (1.0 = flagship); unknown stores get 0.5.
_STORE_DEPTH: dict[str, float] = {
    "PAR-RIV": 1.0,
    "LYO-REP": 0.9,
    "PAR-BAS": 0.8,
    "MRS-FER": 0.75,
    "BDX-CAT": 0.6,
    "LIL-BET": 0.6,
    "TLS-ALS": 0.55,
    "NTE-CRE": 0.45,
}


def demo_stock(
    products: Sequence[DemoProduct], locations: Sequence[DemoLocation], seed: int = 11
) -> dict[tuple[str, str], int]:
    """On-hand quantity per (SKU, location code).

    The warehouse holds nearly everything in depth. A store either does not carry a product at
    all (no key) or carries it with a quantity per variant, where 0 means "carried, but sold
    out": small stores carry less and often lack the extreme sizes, about one product in twenty
    is sold out in every store (only the warehouse has it) and a few are down to 1 or 2 pieces.
    Web-only products are never in stores.
    """
    rng = random.Random(seed)
    stores = [location for location in locations if location.kind == "store"]
    warehouses = [location for location in locations if location.kind != "store"]
    stock: dict[tuple[str, str], int] = {}
    for product in products:
        roll = rng.random()
        sold_out_in_stores = roll < 0.05
        scarce = 0.05 <= roll < 0.12
        sizes = list(
            dict.fromkeys(
                v.attributes["taille"] for v in product.variants if "taille" in v.attributes
            )
        )
        middle = (len(sizes) - 1) / 2
        for warehouse in warehouses:
            for variant in product.variants:
                size = variant.attributes.get("taille")
                centrality = 1.0
                if size is not None and middle > 0:
                    centrality = 1.0 - 0.6 * abs(sizes.index(size) - middle) / middle
                stock[(variant.sku, warehouse.code)] = round(rng.randint(30, 140) * centrality)
        if "store" not in product.channels:
            continue
        for store in stores:
            depth = _STORE_DEPTH.get(store.code, 0.5)
            if rng.random() > 0.35 + 0.65 * depth:
                continue  # not in this store's assortment
            missing: set[str] = set()
            if len(sizes) >= 4 and rng.random() < 1.1 - depth:
                missing.add(sizes[0] if rng.random() < 0.5 else sizes[-1])
                if depth < 0.7 and rng.random() < 0.5:
                    missing.update((sizes[0], sizes[-1]))
            for variant in product.variants:
                if sold_out_in_stores or variant.attributes.get("taille") in missing:
                    quantity = 0
                elif scarce:
                    quantity = rng.randint(0, 2)
                else:
                    quantity = rng.randint(1, 3 + round(9 * depth))
                stock[(variant.sku, store.code)] = quantity
    return stock
