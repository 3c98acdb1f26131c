"""Media: blob storage, signed media URLs, image ingestion and renditions.

- `store`: the `BlobStore` interface, a local folder and an S3-compatible object store;
- `signing` and `routes`: short-lived signed `/media/<key>` URLs and `serve_blob` (ETag, Range);
- `images`: turning an upload into a clean source image (allow-list, bomb guard, no metadata);
- `service`: storing and recording an upload; `renditions` and `jobs`: the sizes the apps load,
  built by the worker.
"""
