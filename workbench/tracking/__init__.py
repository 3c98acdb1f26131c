"""Share tracking: the public brochure viewer, its beacons, bot labels, and their ingestion.

- `viewer` and `routes`: `GET /s/{code}` (the shared brochure; showing it counts nothing) and
  `POST /t` (beacons, into a Redis stream through `beacons`, never to PostgreSQL);
- `bots`: the verdict ('human' or 'bot') and reason of every hit;
- `ingest`: the worker's consumer group, storing batches into `share_hits` and the per-visitor
  rollup `share_visitors`; `partitions` and `jobs`: monthly partitions and retention;
- `reclassify`: new rules applied to stored hits, rollups rebuilt; `console`: the admin page of
  filtered hits.
"""
