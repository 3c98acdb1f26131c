"""Every survey endpoint of the API, by role of its module."""

from __future__ import annotations

from workbench.surveys import delivery_routes, design_routes, results_routes

ROUTES = [*design_routes.ROUTES, *delivery_routes.ROUTES, *results_routes.ROUTES]
