"""The one error type the tool raises on purpose.

Every failure an operator can cause or fix (a wrong id, a missing option, a usage plan that
does not fit) becomes an :class:`AdminError`, which the command line prints as one line; a
traceback would bury the cause and, worse, could print values that should stay private.
"""

from __future__ import annotations

#: Exit status of a failed operation (unknown key, AWS refusal ...).
FAILURE = 1
#: Exit status of a malformed request (argparse uses it too).
USAGE = 2


class AdminError(Exception):
    """A failure to report as one line, with the exit status the command should end with."""

    def __init__(self, message: str, *, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
