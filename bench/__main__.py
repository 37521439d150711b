"""``python -m bench``: every benchmark, then BENCHMARKS.md's measured section is rewritten."""

from __future__ import annotations

import argparse

from bench import availability, ingestion


def main() -> None:
    parser = argparse.ArgumentParser(description="Parcours benchmarks")
    parser.add_argument("--duration", type=int, default=15, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--only", choices=["availability", "ingestion"], help="run one benchmark only"
    )
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if args.only in (None, "availability"):
        availability.run(duration=args.duration, connections=args.connections, databases=databases)
    if args.only in (None, "ingestion"):
        # Batches of 100 events are heavier: half the connections keep the same pressure.
        ingestion.run(
            duration=args.duration,
            connections=max(1, args.connections // 2),
            databases=databases,
        )


if __name__ == "__main__":
    main()
