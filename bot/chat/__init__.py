"""The message pipeline: the webhook, the gate (dedupe, lock, conversation), routing and what handlers get."""
