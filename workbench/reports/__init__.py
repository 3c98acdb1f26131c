"""Monthly branch reports: a PDF per branch built by the worker, listed in the console."""
