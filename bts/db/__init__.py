"""The project database: one schema for every table it owns, engines, and migrations."""
