"""Errors raised for bad input."""


class InputError(ValueError):
    """Bad input data or configuration.

    The message names the file, the field (tag, column, key) and what would fix it, so a user
    can act on it without reading the code.
    """
