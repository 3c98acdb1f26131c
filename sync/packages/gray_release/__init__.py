"""SQL of gray releases and install reports (the service is `sync.packages.releases`)."""
