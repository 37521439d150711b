"""Journey analytics: stages, funnels, paths, web-to-store, omnichannel value, friction and
cohorts over the event store compacted into a Parquet lake and read with DuckDB. Emits nothing.
"""
