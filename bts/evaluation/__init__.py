"""Evaluations of the trained assistant that go beyond Rasa's own test commands."""
