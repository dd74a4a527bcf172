"""The one error type for mistakes that are the user's: bad arguments, files or data.

Every tfrbm error that a user can cause and fix (a wrong path, a malformed file, an argument out
of range) derives from :class:`UserError`. It is a :class:`ValueError`, so existing
``except ValueError`` code keeps working, and the ``tfrbm`` command prints it as one
``tfrbm: error: ...`` line. Anything else that escapes is a bug and keeps its traceback.
"""

__all__ = ["UserError"]


class UserError(ValueError):
    """An error caused by the user's input (arguments, files, data); fix the input and retry."""


class ExportError(UserError):
    """A model cannot be exported: not built, nothing to serve, or a bad or taken target."""


__all__ += ["ExportError"]


class DataNotFoundError(UserError, FileNotFoundError):
    """A data set, model or input file the user named does not exist (also a FileNotFoundError)."""


__all__ += ["DataNotFoundError"]
