"""The service's domain errors; the transport maps each to one status code or error frame.

A ``ValueError`` (bad input, the field named first) is 422 / an error frame.
"""

from __future__ import annotations


class SessionNotFoundError(KeyError):
    """No session with that id (404)."""


class TooManySessionsError(RuntimeError):
    """The server holds ``max_sessions`` already (429)."""


class ConflictError(RuntimeError):
    """The request does not fit the session's state, e.g. stepping a diverged run (409)."""


class PayloadTooLargeError(Exception):
    """A request or a response would exceed a size limit (413)."""


class StorageError(RuntimeError):
    """The database could not be written or a stored session could not be read (503)."""
