"""Work outside a request: the one active scheduler, its jobs, and the sender that delivers the outbox."""
