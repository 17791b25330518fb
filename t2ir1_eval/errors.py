"""Exceptions with messages that say what was expected, what was found and what to do."""


class T2IR1EvalError(Exception):
    """Base class: the CLI prints these without a traceback."""


class DataError(T2IR1EvalError):
    """Benchmark data missing, corrupt or of the wrong version."""


class ConfigError(T2IR1EvalError):
    """Options that do not fit together, or a run directory made with another config."""


class ImageError(T2IR1EvalError):
    """An image that is missing, unreadable or of the wrong size."""


class BackendUnavailable(T2IR1EvalError):
    """A backend whose dependencies or weights are not present on this machine."""
