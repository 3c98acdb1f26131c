"""SQL of survey results: the rollups kept as answers arrive, and what results read from them."""
