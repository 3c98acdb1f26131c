"""Compliance's decisions on brochure versions, kept as history (`brochure_reviews`): who
approved or rejected which content, when and why. The workflow writes one row per decision, with
the content decided on; the staff views read them to show the last decision and what changed
since."""
