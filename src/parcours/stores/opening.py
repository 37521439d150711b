"""Opening hours read in the store's own time zone: open now, next opening, when an order is ready.

Pure functions over a loaded :class:`Location` or a directory ``StoreCard`` (no SQL). Weekly
hours give each weekday's intervals; an exception on a date replaces that day's hours entirely (a
holiday closes it, special hours replace it). Intervals are turned into UTC instants day by day,
so arithmetic stays right across daylight-saving changes; results are shown back in the store's
zone."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from math import ceil
from typing import Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

Locale = Literal["fr", "en"]
T = TypeVar("T")

#: How far ahead the next opening is looked for; a store shut longer shows "Fermé" alone.
LOOKAHEAD_DAYS = 60
#: An opening stretch longer than this is shown as "open 24/7" rather than a closing time.
ALWAYS_OPEN = timedelta(days=7)

_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class OpeningStatus:
    """Whether a store is open at an instant, and what a shopper should read about it."""

    open_now: bool
    closes_at: str | None  # local "19:30" when open now
    next_opening: datetime | None  # aware, in the store's zone, when closed now
    label_fr: str
    label_en: str

    def label(self, locale: str) -> str:
        return self.label_en if locale.startswith("en") else self.label_fr


@lru_cache(maxsize=512)
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


class _HoursRow(Protocol):
    @property
    def weekday(self) -> int: ...
    @property
    def opens(self) -> str: ...
    @property
    def closes(self) -> str: ...


class _ExceptionRow(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def opens(self) -> str | None: ...
    @property
    def closes(self) -> str | None: ...


class Scheduled(Protocol):
    """What the opening logic reads: a :class:`Location` row or a directory card."""

    @property
    def timezone(self) -> str: ...
    @property
    def hours(self) -> Iterable[_HoursRow]: ...
    @property
    def exceptions(self) -> Iterable[_ExceptionRow]: ...


@dataclass(frozen=True, slots=True)
class Schedule:
    """A location's hours as minutes of the day, ready to answer many questions quickly."""

    zone: ZoneInfo
    weekly: dict[int, list[tuple[int, int]]]
    exceptions: dict[date, list[tuple[int, int]]]

    @classmethod
    def of(cls, location: Scheduled) -> Schedule:
        """The schedule a directory card carries already, or one built from the rows."""
        ready = getattr(location, "schedule", None)
        return ready if isinstance(ready, Schedule) else cls.build(location)

    @classmethod
    def build(cls, location: Scheduled) -> Schedule:
        weekly: dict[int, list[tuple[int, int]]] = {}
        for row in location.hours:
            weekly.setdefault(row.weekday, []).append((_minutes(row.opens), _minutes(row.closes)))
        exceptions: dict[date, list[tuple[int, int]]] = {}
        for exc in location.exceptions:
            if exc.opens is None or exc.closes is None:
                exceptions[exc.day] = []
            else:
                exceptions[exc.day] = [(_minutes(exc.opens), _minutes(exc.closes))]
        for intervals in weekly.values():
            intervals.sort()
        return cls(zone_of(location.timezone), weekly, exceptions)

    def on(self, day: date) -> list[tuple[int, int]]:
        found = self.exceptions.get(day)
        return found if found is not None else self.weekly.get(day.weekday(), [])

    def instant(self, day: date, minutes: int) -> datetime:
        """The UTC instant of a local wall-clock time (``24:00`` is the next midnight)."""
        if minutes >= 24 * 60:
            day, minutes = day + timedelta(days=1), minutes - 24 * 60
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def intervals(self, first_day: date, days: int) -> Iterator[tuple[datetime, datetime]]:
        """Opening stretches in UTC from ``first_day`` on, touching ones merged (lunch-less days,
        ``24:00`` meeting ``00:00``)."""
        pending: tuple[datetime, datetime] | None = None
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for opens, closes in self.on(day):
                start, end = self.instant(day, opens), self.instant(day, closes)
                if pending is not None and start <= pending[1]:
                    pending = (pending[0], max(pending[1], end))
                    continue
                if pending is not None:
                    yield pending
                pending = (start, end)
        if pending is not None:
            yield pending


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime")
    return at.astimezone(UTC)


def _hhmm(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def describe_moment(moment: datetime, *, now: datetime, locale: Locale) -> str:
    """``"aujourd'hui à 16:00"``, ``"demain à 10:00"``, ``"lundi à 10:00"``, ``"le 12 août à
    10:00"`` (or English), relative to ``now``, in ``moment``'s zone."""
    assert moment.tzinfo is not None
    today = now.astimezone(moment.tzinfo).date()
    days = (moment.date() - today).days
    clock = _hhmm(moment)
    if locale == "en":
        if days <= 0:
            return f"today at {clock}"
        if days == 1:
            return f"tomorrow at {clock}"
        if days < 7:
            return f"{_EN_DAYS[moment.weekday()]} at {clock}"
        return f"on {moment.day} {_EN_MONTHS[moment.month - 1]} at {clock}"
    if days <= 0:
        return f"aujourd'hui à {clock}"
    if days == 1:
        return f"demain à {clock}"
    if days < 7:
        return f"{_FR_DAYS[moment.weekday()]} à {clock}"
    return f"le {moment.day} {_FR_MONTHS[moment.month - 1]} à {clock}"


def _memo_for(location: Scheduled, at: datetime) -> dict[Any, Any] | None:
    """A directory card's answers for the current minute (hours are whole minutes, so answers
    cannot change within one); ``None`` for a plain row."""
    memo: dict[Any, Any] | None = getattr(location, "memo", None)
    if memo is None:
        return None
    minute = int(at.timestamp()) // 60
    if memo.get("minute") != minute:
        memo.clear()  # racing threads at worst compute twice
        memo["minute"] = minute
    return memo


def for_the_minute(
    location: Scheduled, at: datetime, key: Hashable, compute: Callable[[datetime], T]
) -> T:
    """``compute(at)`` for answers that cannot change within a minute (hours are whole
    minutes). A directory card computes it once per minute and key, from the minute's start;
    a plain row computes it every time, from ``at``."""
    at = _require_aware(at)
    memo = _memo_for(location, at)
    if memo is None:
        return compute(at)
    if key not in memo:
        memo[key] = compute(at.replace(second=0, microsecond=0))
    found: T = memo[key]
    return found


def opening_status(location: Scheduled, at: datetime) -> OpeningStatus:
    """Open now and until when, or when it next opens, in the store's zone."""
    at = _require_aware(at)
    memo = _memo_for(location, at)
    if memo is None:
        return _opening_status(location, at)
    found: OpeningStatus | None = memo.get("status")
    if found is None:
        found = memo["status"] = _opening_status(location, at.replace(second=0, microsecond=0))
    return found


def _opening_status(location: Scheduled, at: datetime) -> OpeningStatus:
    schedule = Schedule.of(location)
    local_now = at.astimezone(schedule.zone)
    # From yesterday: a stretch that began then (24:00 meeting 00:00) may still run.
    first_day = local_now.date() - timedelta(days=1)
    for start, end in schedule.intervals(first_day, LOOKAHEAD_DAYS):
        if end <= at:
            continue
        if start <= at:
            if end - at > ALWAYS_OPEN:
                return OpeningStatus(True, None, None, "Ouvert 24h/24", "Open 24/7")
            closes = end.astimezone(schedule.zone)
            clock = "24:00" if closes.time() == time(0) else _hhmm(closes)
            return OpeningStatus(
                True, clock, None, f"Ouvert · ferme à {clock}", f"Open · closes at {clock}"
            )
        opens = start.astimezone(schedule.zone)
        if opens.date() == local_now.date():
            fr, en = f"ouvre à {_hhmm(opens)}", f"opens at {_hhmm(opens)}"
        else:
            fr = f"ouvre {describe_moment(opens, now=at, locale='fr')}"
            en = f"opens {describe_moment(opens, now=at, locale='en')}"
        return OpeningStatus(False, None, opens, f"Fermé · {fr}", f"Closed · {en}")
    return OpeningStatus(False, None, None, "Fermé", "Closed")


def _round_up(moment: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    stamp = ceil(moment.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(stamp, UTC)


def ready_time(
    location: Scheduled,
    *,
    at: datetime,
    lead: timedelta,
    at_opening: timedelta = timedelta(hours=1),
    step: timedelta = timedelta(minutes=30),
) -> datetime | None:
    """When something started at ``at`` and needing ``lead`` can be picked up in this store.

    ``at + lead`` rounded up to ``step``, if the store is open then; otherwise ``at_opening``
    after the next opening (staff prepare it first thing). ``None`` if it does not open within
    the look-ahead. The answer is in the store's zone. For directory cards it is computed from
    the start of the minute and remembered for that minute.
    """
    at = _require_aware(at)
    memo = _memo_for(location, at)
    if memo is None:
        return _ready_time(location, at, lead, at_opening, step)
    key = ("ready", lead, at_opening, step)
    if key not in memo:
        memo[key] = _ready_time(
            location, at.replace(second=0, microsecond=0), lead, at_opening, step
        )
    found: datetime | None = memo[key]
    return found


def _ready_time(
    location: Scheduled, at: datetime, lead: timedelta, at_opening: timedelta, step: timedelta
) -> datetime | None:
    schedule = Schedule.of(location)
    target = _round_up(at + lead, step)
    first_day = target.astimezone(schedule.zone).date() - timedelta(days=1)
    for start, end in schedule.intervals(first_day, LOOKAHEAD_DAYS):
        if end <= target:
            continue
        if start <= target:
            return target.astimezone(schedule.zone)
        if start + at_opening < end:
            return (start + at_opening).astimezone(schedule.zone)
    return None
