"""The one exception type for input a user can fix: a bad value, file, config key or combination."""


class DenoiseError(ValueError):
    """Raised with a message that names the offending value and says what to do."""
