"""Border Therapy Services staff console: review conversations and bookings safely.

A Flask application in its own virtual environment (`.venv-console`), reading Rasa's SQL tracker
store and the booking tables, and keeping its own `console_*` tables next to them.
"""

__version__ = "1.0.0"
