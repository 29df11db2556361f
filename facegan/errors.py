"""The one exception type for problems a user can fix (bad input, bad params)."""


class FaceganError(Exception):
    """A user-fixable problem: the message names the file or parameter and what to do.

    Stage entry points print it as one line and exit non-zero, so nothing
    downstream runs on bad input.
    """
