"""Prints the path of the model that belongs to the current training inputs (see bts.dev.model_files)."""

from bts.dev.model_files import MODEL_PREFIX, MODELS_DIR, ROOT, current_model, fingerprint, training_inputs

__all__ = ["MODEL_PREFIX", "MODELS_DIR", "ROOT", "current_model", "fingerprint", "training_inputs"]

if __name__ == "__main__":
    print(current_model())
