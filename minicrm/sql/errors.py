"""The sql package's domain errors."""


class NotFound(LookupError):
    """No such row, or not the caller's: both answer the same, so ids cannot be probed."""
