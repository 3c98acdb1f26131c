"""Where diff packages are recorded: one row per base file and target package."""
