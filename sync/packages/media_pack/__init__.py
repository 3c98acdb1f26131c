"""SQL of brochure media packs (the service is `sync.packages.media`)."""
