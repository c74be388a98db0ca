"""Services: functions over (session, content, clock, store, outbox) that own the DB writes."""
