"""Custom NLU components and the rule-based red-flag matcher.

`red_flags` holds the plain spaCy logic (unit-tested on its own); `nlu` wires it and the input
guard into Rasa's pipeline.
"""
