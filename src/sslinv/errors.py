"""Errors a user can fix, each with the fix in its message.

They live in one light module (no torch import) so the command line can catch them and
print one clear line instead of a traceback, without paying for imports a stage never uses.
"""


class ConfigError(ValueError):
    """A config problem a user can fix by editing the YAML."""


class DatasetError(ValueError):
    """Missing, empty or unreadable input data, with the fix in the message."""


class CheckpointError(ValueError):
    """A missing, unreadable or mismatched checkpoint."""


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, a model that does not learn, too little data)."""


class Interrupted(RuntimeError):
    """A termination signal arrived; the state was saved and a rerun resumes from it."""


USER_ERRORS = (ConfigError, DatasetError, CheckpointError, TrainingError, Interrupted)
