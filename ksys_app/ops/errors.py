"""Errors the `ksys` commands turn into one clear line and an exit code."""


class OpsError(Exception):
    """A failure an operator can act on; `message` is printed as is."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class MigrationRefused(OpsError):
    """The database's migration history does not match the files."""

    exit_code = 1
