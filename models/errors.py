"""Errors of the model layer (models/ depends on nothing of soundcue; captioning maps these)."""


class ModelUnavailableError(RuntimeError):
    """A model cannot be loaded: its package, weights or runtime are missing or broken."""
