"""``python -m bench``: every benchmark, then BENCHMARKS.md's measured section is rewritten."""

from __future__ import annotations

import argparse

from bench import availability


def main() -> None:
    parser = argparse.ArgumentParser(description="Parcours benchmarks")
    parser.add_argument("--duration", type=int, default=15, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args()
    availability.run(
        duration=args.duration,
        connections=args.connections,
        databases=[d.strip() for d in args.databases.split(",") if d.strip()],
    )


if __name__ == "__main__":
    main()
