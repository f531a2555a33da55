"""Production profile (deploy/prod.py): PostgreSQL, Redis, Rasa replicas and nginx on this machine."""
