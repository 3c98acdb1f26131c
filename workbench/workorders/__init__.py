"""Work orders: what an alert rule opens on a worrying answer, with SLA, escalation and closure."""
