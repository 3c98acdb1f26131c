"""RM Workbench: the backend of a mobile-first workbench for bank relationship managers."""
