"""User-facing errors: one line that names the problem and the fix; the CLI exits with code 2."""


class UserError(Exception):
    """A problem with the user's input (paths, names, config keys, data), never a bug.

    The message is a single line: what is wrong, then what to do about it.
    """

    exit_code = 2
