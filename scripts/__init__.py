"""Project scripts: environment, training, running and measuring the assistant."""
