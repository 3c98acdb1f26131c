"""Offline packages (issue #16): signed H5 bundles and per-RM brochure media packs.

Modules and their roles:
- manifest: canonical manifest bytes, signing (keys derived from WORKBENCH_JWT_KEYS), the verifier.
- archive: intake of an uploaded zip (every unsafe entry refused before anything is stored).
- building / store / queries: package files, their rows and blobs.
- routes: upload, list, public keys, download (Range, ETag); it includes releases_routes
  (gray release, rollback, latest) and media_routes (media packs).
- console: the console pages; jobs: the worker's package jobs.
"""
