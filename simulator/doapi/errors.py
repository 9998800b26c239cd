"""DigitalOcean's error answer: an HTTP status plus a body {"id", "message", "request_id"}."""
from __future__ import annotations

NOT_FOUND = "The resource you were accessing could not be found."


class ApiError(Exception):
    def __init__(self, status: int, ident: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.ident, self.message, self.headers = status, ident, message, headers or {}


def not_found() -> ApiError:
    return ApiError(404, "not_found", NOT_FOUND)
