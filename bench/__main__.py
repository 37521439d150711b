"""``python -m bench``: every benchmark, then BENCHMARKS.md's measured section is rewritten."""

from __future__ import annotations

import argparse

from bench import availability, cart_sync, checkout, ingestion, journeys, storefront

BENCHMARKS = (
    "availability",
    "ingestion",
    "checkout",
    "cart_sync",
    "storefront",
    "journeys",
    "journeys_import",
)
#: Seconds per load run when --duration is not given; checkout's two runs per database (ceiling,
#: Parcours) come after loading the demo retailer and preparing carts, so they are shorter.
DEFAULT_DURATION = {"availability": 15, "ingestion": 15, "checkout": 10}


def _benchmarks(value: str) -> list[str]:
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"choose among {', '.join(BENCHMARKS)} (comma-separated), not {value!r}"
        )
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description="Parcours benchmarks")
    parser.add_argument(
        "--duration",
        type=int,
        default=None,
        help="seconds per load run (default: 15; checkout: 10; cart_sync times 200 changes)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--events",
        type=int,
        default=journeys.DEFAULT_EVENTS,
        help="journeys: events in the generated lake (default: 10 million)",
    )
    parser.add_argument(
        "--only",
        type=_benchmarks,
        metavar="|".join(BENCHMARKS),
        help="run these benchmarks only (comma-separated)",
    )
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    chosen = args.only or list(BENCHMARKS)

    def duration(name: str) -> int:
        return int(args.duration or DEFAULT_DURATION[name])

    if "availability" in chosen:
        availability.run(
            duration=duration("availability"), connections=args.connections, databases=databases
        )
    if "ingestion" in chosen:
        # Batches of 100 events are heavier: half the connections keep the same pressure.
        ingestion.run(
            duration=duration("ingestion"),
            connections=max(1, args.connections // 2),
            databases=databases,
        )
    if "checkout" in chosen:
        # Each client holds one order in flight (a checkout, then its payment): a quarter of the
        # connections, 8 by default, already keeps the server's one process busy.
        checkout.run(
            duration=duration("checkout"),
            clients=max(1, args.connections // 4),
            databases=databases,
        )
    if "cart_sync" in chosen:
        cart_sync.run(databases=databases)
    if "storefront" in chosen:
        # Lighthouse and the phone's LCP: one SQLite demo, whatever --databases says.
        storefront.run()
    if "journeys" in chosen:
        # A funnel over --events generated events (kept in the temp folder between runs).
        journeys.run_funnel_bench(events=args.events)
    if "journeys_import" in chosen:
        journeys.run_import_bench()


if __name__ == "__main__":
    main()
