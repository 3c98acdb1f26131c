"""Survey invitations, deliveries, responses and customer messages: their SQL (`queries`)."""
