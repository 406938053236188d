"""The exceptions that end a command with one line instead of a traceback: `UsageError`
(the user's input is wrong; exit code 2) and `RunStopped` (exit code 1)."""


class UsageError(Exception):
    """Bad input: a config, suite file, model id or option the user can fix.

    The message is one line that names the thing (file, line, field) and how to fix it.
    """


class RunStopped(Exception):
    """A run stopped by something outside it, not by bad input: another process took
    over its lease. The message says what happened; the records stored so far stay."""
