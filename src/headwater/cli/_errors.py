"""The error the CLI's helpers raise to stop a command with a message."""

from __future__ import annotations

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNFINISHED",
    "EXIT_USAGE",
    "CliError",
]

EXIT_OK = 0
"""The command did what was asked; for ``run``: the flow run succeeded."""
EXIT_FAILED = 1
"""``run``: the flow run ended ``Failed`` (or the engine itself raised)."""
EXIT_USAGE = 2
"""Bad command line, flow file, parameters, or a missing optional dependency."""
EXIT_UNFINISHED = 3
"""``run``: the flow run ended ``Waiting``: some tasks did not finish."""
EXIT_INTERRUPTED = 130
"""``run``: interrupted by Ctrl-C (the shell's convention, 128 + SIGINT)."""


class CliError(Exception):
    """Stop the command: print ``message`` to stderr and exit with ``code``.

    Args:
        message: what was wrong and what to do about it.
        code: the process exit code (default :data:`EXIT_USAGE`).
    """

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
