"""The data layer: every SQL statement of the registry, the places and the request log, as named builders and
functions (pg_featureserv's `internal/data` habit). Views, the exchange, the CLI and the pages call these
functions and hold no SQL; the schema itself is made by the migrations (`resourcemap/migrations`).

Rows come back as typed records (TypedDicts or dataclasses) named after what they are."""
