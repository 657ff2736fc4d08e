"""Errors as values: a code, a message and the field at fault, rendered as JSON for the API."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ApiError(Exception):
    """A client error the API answers with `{"error": {"code", "message", "field"}}`."""

    message: str
    field: str | None = None
    code: str = "invalid"
    status: int = 400

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}
