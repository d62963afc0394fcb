"""One server per database: an exclusive lock beside the SQLite file, dropped when we die.

``flock`` locks belong to the open file and the kernel releases them when the process
exits for any reason (SIGKILL included), so a crash never leaves the database locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class DatabaseInUseError(RuntimeError):
    """Another live gradscape server holds this database."""


class DatabaseLock:
    """Holds ``<db>.lock`` exclusively (with our pid in it) until ``release``."""

    def __init__(self, db_path: str) -> None:
        self.path = f"{db_path}.lock"
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DatabaseInUseError(
                f"{db_path} is in use by another gradscape server (pid {other}); "
                "stop that server or give this one another --db"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd: int | None = fd

    def release(self) -> None:
        """Let another server have the database (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
