"""Opening hours read in the store's own zone: open now, next opening, labels, DST, holidays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from parcours.stores.models import Location, OpeningException, OpeningHours
from parcours.stores.opening import opening_status, ready_time

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = [(day, "10:00", "19:30") for day in range(6)]


def store(
    hours: Iterable[tuple[int, str, str]] = WEEKDAYS,
    exceptions: Iterable[tuple[date, str | None, str | None]] = (),
    timezone: str = "Europe/Paris",
) -> Location:
    """A location in memory: opening logic reads no database."""
    return Location(
        id="loc_test",
        code="TEST",
        kind="store",
        name="Test",
        street="1 rue Test",
        postcode="75001",
        city="Paris",
        country="FR",
        latitude=48.86,
        longitude=2.34,
        timezone=timezone,
        services=[],
        hours=[OpeningHours(weekday=d, opens=o, closes=c) for d, o, c in hours],
        exceptions=[
            OpeningException(day=day, opens=o, closes=c, reason="") for day, o, c in exceptions
        ],
    )


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# 2026-06-16 is a Tuesday.


def test_open_now_says_when_it_closes() -> None:
    status = opening_status(store(), paris(2026, 6, 16, 14, 0))
    assert status.open_now
    assert status.closes_at == "19:30"
    assert status.next_opening is None
    assert status.label_fr == "Ouvert · ferme à 19:30"
    assert status.label_en == "Open · closes at 19:30"


def test_before_opening_it_opens_today() -> None:
    status = opening_status(store(), paris(2026, 6, 16, 8, 0))
    assert not status.open_now
    assert status.next_opening == paris(2026, 6, 16, 10, 0)
    assert status.label_fr == "Fermé · ouvre à 10:00"
    assert status.label_en == "Closed · opens at 10:00"


def test_after_closing_it_opens_tomorrow() -> None:
    status = opening_status(store(), paris(2026, 6, 16, 19, 30))  # closing time is closed
    assert not status.open_now
    assert status.label_fr == "Fermé · ouvre demain à 10:00"
    assert status.label_en == "Closed · opens tomorrow at 10:00"


def test_saturday_evening_it_opens_monday() -> None:
    status = opening_status(store(), paris(2026, 6, 20, 20, 0))
    assert status.next_opening == paris(2026, 6, 22, 10, 0)
    assert status.label_fr == "Fermé · ouvre lundi à 10:00"
    assert status.label_en == "Closed · opens Monday at 10:00"


def test_lunch_break_is_two_intervals() -> None:
    location = store([(1, "09:30", "12:30"), (1, "14:00", "19:00")])
    morning = opening_status(location, paris(2026, 6, 16, 11, 0))
    assert morning.closes_at == "12:30"
    lunch = opening_status(location, paris(2026, 6, 16, 13, 0))
    assert lunch.label_fr == "Fermé · ouvre à 14:00"


def test_touching_intervals_are_one_stretch() -> None:
    location = store([(1, "10:00", "12:00"), (1, "12:00", "19:00")])
    assert opening_status(location, paris(2026, 6, 16, 11, 0)).closes_at == "19:00"


def test_the_stores_own_zone_decides() -> None:
    new_york = store(timezone="America/New_York")
    at = datetime(2026, 6, 16, 14, 30, tzinfo=UTC)  # 10:30 in New York, 16:30 in Paris
    status = opening_status(new_york, at)
    assert status.open_now
    assert status.closes_at == "19:30"
    early = opening_status(new_york, datetime(2026, 6, 16, 13, 0, tzinfo=UTC))
    assert early.next_opening is not None
    assert early.next_opening.astimezone(UTC) == datetime(2026, 6, 16, 14, 0, tzinfo=UTC)
    assert early.label_en == "Closed · opens at 10:00"


# Daylight saving in Europe/Paris: 2026-03-29 and 2026-10-25 are the last Sundays of the months.
SUNDAYS_TOO = [*WEEKDAYS, (6, "10:00", "13:00")]


def test_spring_forward_next_opening_is_at_local_ten() -> None:
    location = store(SUNDAYS_TOO)
    status = opening_status(location, paris(2026, 3, 28, 20, 0))  # Saturday, UTC+1
    assert status.next_opening is not None
    assert status.next_opening.astimezone(UTC) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert status.next_opening.utcoffset() == timedelta(hours=2)
    assert status.label_fr == "Fermé · ouvre demain à 10:00"
    # The same UTC time of day is before opening on Saturday and after it on Sunday.
    assert not opening_status(location, datetime(2026, 3, 28, 8, 30, tzinfo=UTC)).open_now
    sunday = opening_status(location, datetime(2026, 3, 29, 8, 30, tzinfo=UTC))
    assert sunday.open_now
    assert sunday.closes_at == "13:00"


def test_fall_back_opening_hours_follow_local_time() -> None:
    location = store(SUNDAYS_TOO)
    before = opening_status(location, datetime(2026, 10, 25, 8, 30, tzinfo=UTC))  # 09:30 CET
    assert not before.open_now
    assert before.next_opening is not None
    assert before.next_opening.astimezone(UTC) == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    assert before.label_fr == "Fermé · ouvre à 10:00"
    saturday = opening_status(location, datetime(2026, 10, 24, 8, 30, tzinfo=UTC))  # 10:30 CEST
    assert saturday.open_now


def test_a_holiday_closes_the_day() -> None:
    whit_monday = date(2026, 5, 25)
    location = store(exceptions=[(whit_monday, None, None)])
    assert not opening_status(location, paris(2026, 5, 25, 15, 0)).open_now
    status = opening_status(location, paris(2026, 5, 23, 20, 0))  # Saturday evening
    assert status.next_opening == paris(2026, 5, 26, 10, 0)
    assert status.label_fr == "Fermé · ouvre mardi à 10:00"
    assert status.label_en == "Closed · opens Tuesday at 10:00"


def test_special_hours_replace_the_day() -> None:
    location = store(
        exceptions=[(date(2026, 12, 24), "10:00", "17:00"), (date(2026, 12, 25), None, None)]
    )
    assert opening_status(location, paris(2026, 12, 24, 16, 0)).closes_at == "17:00"
    evening = opening_status(location, paris(2026, 12, 24, 17, 30))
    assert evening.next_opening == paris(2026, 12, 26, 10, 0)
    assert evening.label_fr == "Fermé · ouvre samedi à 10:00"


def test_special_opening_on_a_closed_sunday() -> None:
    location = store(exceptions=[(date(2026, 12, 20), "11:00", "19:00")])
    status = opening_status(location, paris(2026, 12, 19, 20, 0))
    assert status.label_fr == "Fermé · ouvre demain à 11:00"
    assert opening_status(location, paris(2026, 12, 20, 12, 0)).open_now


def test_a_long_closure_names_the_date() -> None:
    closed = [(date(2026, 8, 1) + timedelta(days=i), None, None) for i in range(16)]
    status = opening_status(store(exceptions=closed), paris(2026, 7, 31, 20, 0))
    assert status.next_opening == paris(2026, 8, 17, 10, 0)
    assert status.label_fr == "Fermé · ouvre le 17 août à 10:00"
    assert status.label_en == "Closed · opens on 17 Aug at 10:00"


def test_without_hours_it_is_simply_closed() -> None:
    status = opening_status(store([]), paris(2026, 6, 16, 12, 0))
    assert (status.open_now, status.next_opening, status.label_fr) == (False, None, "Fermé")
    assert status.label("en") == "Closed"


def test_open_around_the_clock() -> None:
    status = opening_status(store([(d, "00:00", "24:00") for d in range(7)]), paris(2026, 6, 16))
    assert status.open_now
    assert status.label_fr == "Ouvert 24h/24"


def test_closing_at_midnight() -> None:
    status = opening_status(store([(1, "18:00", "24:00")]), paris(2026, 6, 16, 22, 0))
    assert status.closes_at == "24:00"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        opening_status(store(), datetime(2026, 6, 16, 12, 0))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (paris(2026, 6, 16, 14, 10), paris(2026, 6, 16, 16, 30)),  # + 2 h, to the half hour
        (paris(2026, 6, 16, 17, 30), paris(2026, 6, 17, 11, 0)),  # ready at closing time: too late
        (paris(2026, 6, 16, 17, 0), paris(2026, 6, 16, 19, 0)),
        (paris(2026, 6, 16, 18, 0), paris(2026, 6, 17, 11, 0)),  # tomorrow, opening + 1 h
        (paris(2026, 6, 20, 18, 0), paris(2026, 6, 22, 11, 0)),  # Saturday evening: Monday
        (paris(2026, 6, 16, 7, 0), paris(2026, 6, 16, 11, 0)),  # before opening: opening + 1 h
    ],
)
def test_ready_time_rounds_into_opening_hours(at: datetime, expected: datetime) -> None:
    ready = ready_time(store(), at=at, lead=timedelta(hours=2))
    assert ready == expected
    assert ready is not None
    assert ready.tzinfo is not None
    assert ready.utcoffset() == timedelta(hours=2)


def test_ready_time_is_none_when_the_store_never_opens() -> None:
    assert ready_time(store([]), at=paris(2026, 6, 16, 12), lead=timedelta(hours=2)) is None
