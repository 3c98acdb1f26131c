"""Surveys: design and publication, delivery, answers, results, alert rules and work orders."""
