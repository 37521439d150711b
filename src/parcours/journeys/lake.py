"""The journey lake: Parquet files of the journey tables, one folder per table and month.

``<root>/events/month=2026-11/<origin>-<name>.parquet`` (and ``items/``). Files are written
whole to a temporary name and renamed, so a reader never sees half a file; rows inside a file
are sorted by person then time, which is the order every journey analysis reads them in.
The lake is derived data: the event store stays the source of truth for live events, and the
lake can be rebuilt from it (``parcours journeys rebuild``). Imported and simulated history
lives only here, marked by its ``origin``.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from parcours.journeys.schema import EVENTS, ITEMS

TABLES = {"events": EVENTS, "items": ITEMS}
_STATE = "state.json"


class Lake:
    """One lake folder. Writers in one process are serialised by a lock; the periodic
    compaction is the only writer of live rows, so processes do not race on the same files."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.RLock()

    # --- reading ---------------------------------------------------------------------------
    def files(self, table: str) -> list[Path]:
        """The table's Parquet files, oldest month first."""
        folder = self.root / table
        if not folder.is_dir():
            return []
        return sorted(folder.glob("month=*/*.parquet"))

    def origins(self) -> list[str]:
        """The origins present (``live``, ``simulated``, ``completejourney``)."""
        return sorted({path.name.split("-", 1)[0] for path in self.files("events")})

    # --- state (how far the live event store has been compacted) ----------------------------
    def state(self) -> dict[str, str]:
        path = self.root / _STATE
        if not path.exists():
            return {}
        loaded = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in loaded.items()}

    def save_state(self, **values: str) -> None:
        with self._lock:
            state = self.state() | values
            self.root.mkdir(parents=True, exist_ok=True)
            temporary = self.root / f".{_STATE}.{uuid.uuid4().hex}"
            temporary.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(temporary, self.root / _STATE)

    # --- writing ---------------------------------------------------------------------------
    def append(self, table: str, rows: pa.Table, *, origin: str) -> int:
        """Write ``rows`` (conforming to the table's schema) as new files, one per month;
        returns the rows written."""
        schema = TABLES[table]
        if rows.num_rows == 0:
            return 0
        rows = rows.select(schema.names).cast(schema)
        # year * 100 + month: integer arithmetic, much cheaper than formatting every time
        months = pc.add(pc.multiply(pc.year(rows["ts"]), 100), pc.month(rows["ts"]))
        written = 0
        with self._lock:
            for month in pc.unique(months).to_pylist():
                part = rows.filter(pc.equal(months, month))
                label = f"{month // 100:04d}-{month % 100:02d}"
                written += self._write(table, label, origin, _sorted(part))
        return written

    def _write(self, table: str, month: str, origin: str, rows: pa.Table) -> int:
        folder = self.root / table / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{origin}-{uuid.uuid4().hex[:16]}.parquet"
        temporary = folder / f".{name}.tmp"
        pq.write_table(rows, temporary, compression="zstd", row_group_size=256_000)
        os.replace(temporary, folder / name)
        return int(rows.num_rows)

    def drop_origin(self, origin: str) -> int:
        """Remove every file of an origin (an import or simulation run again replaces it)."""
        removed = 0
        with self._lock:
            for table in TABLES:
                for path in self.files(table):
                    if path.name.startswith(f"{origin}-"):
                        path.unlink()
                        removed += 1
        return removed

    def merge_small_files(self, *, origin: str, at_least: int = 8) -> int:
        """Rewrite a month's files of one origin as one when there are ``at_least`` of them:
        the compaction writes a small file every minute, and many small files slow every read.
        Returns the files merged away."""
        merged = 0
        with self._lock:
            for table in TABLES:
                by_month: dict[Path, list[Path]] = {}
                for path in self.files(table):
                    if path.name.startswith(f"{origin}-"):
                        by_month.setdefault(path.parent, []).append(path)
                for folder, paths in by_month.items():
                    if len(paths) < at_least:
                        continue
                    rows = pa.concat_tables(pq.read_table(path) for path in paths)
                    self._write(table, folder.name.removeprefix("month="), origin, _sorted(rows))
                    for path in paths:
                        path.unlink()
                    merged += len(paths) - 1
        return merged

    def remove_rows(self, *, event_ids: Iterable[str] = (), profile_ids: Iterable[str] = ()) -> int:
        """Rewrite the files holding any of these events or any row of these profiles, without
        them (the right to erasure reaches the lake too); returns the rows removed."""
        ids = sorted(set(event_ids))
        profiles = sorted(set(profile_ids))
        if not ids and not profiles:
            return 0
        removed = 0
        with self._lock:
            for table in TABLES:
                for path in self.files(table):
                    rows = pq.read_table(path)
                    keep = pc.invert(
                        pc.or_(
                            pc.is_in(rows["event_id"], value_set=pa.array(ids, pa.string())),
                            pc.fill_null(
                                pc.is_in(
                                    rows["profile_id"], value_set=pa.array(profiles, pa.string())
                                ),
                                False,
                            ),
                        )
                    )
                    kept = rows.filter(keep)
                    if kept.num_rows == rows.num_rows:
                        continue
                    removed += rows.num_rows - kept.num_rows
                    self._replace(path, kept)
        return removed

    def remove_before(self, cutoff: datetime, *, origin: str) -> int:
        """Remove an origin's rows older than ``cutoff`` (the event store's retention period
        applies to its copy too); returns the rows removed."""
        removed = 0
        with self._lock:
            for table in TABLES:
                for path in self.files(table):
                    if not path.name.startswith(f"{origin}-"):
                        continue
                    rows = pq.read_table(path)
                    kept = rows.filter(
                        pc.greater_equal(rows["ts"], pa.scalar(cutoff, rows["ts"].type))
                    )
                    if kept.num_rows == rows.num_rows:
                        continue
                    removed += rows.num_rows - kept.num_rows
                    self._replace(path, kept)
        return removed

    def _replace(self, path: Path, rows: pa.Table) -> None:
        if rows.num_rows:
            temporary = path.with_name(f".{path.name}.tmp")
            pq.write_table(rows, temporary, compression="zstd", row_group_size=256_000)
            os.replace(temporary, path)
        else:
            path.unlink()


def _sorted(rows: pa.Table) -> pa.Table:
    keys = [("profile_id", "ascending"), ("anonymous_id", "ascending"), ("ts", "ascending")]
    return rows.sort_by(keys)


def read_table(lake: Lake, table: str) -> pa.Table:
    """The whole table as Arrow (tests and exports; analyses query through the engine)."""
    paths = lake.files(table)
    if not paths:
        return TABLES[table].empty_table()
    return pa.concat_tables(pq.read_table(path) for path in paths)
