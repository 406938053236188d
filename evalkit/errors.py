"""The one exception type that means "the user's input is wrong"; the CLI turns it into exit code 2."""


class UsageError(Exception):
    """Bad input: a config, suite file, model id or option the user can fix.

    The message is one line that names the thing (file, line, field) and how to fix it.
    """
