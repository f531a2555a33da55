"""Booking requests: storage, references, the spool, and delivery to the clinic (webhook, e-mail)."""
