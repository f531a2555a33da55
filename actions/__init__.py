"""Custom actions of the Border Therapy Services assistant.

Rasa's action server imports this package and registers every `Action` subclass it finds in
the modules below. Each module covers one concern; the action classes are thin wrappers over
plain functions so that the logic can be unit-tested without a running server.
"""

from actions import booking, clinic, fallback, handoff, session  # noqa: F401  (imported for registration)
