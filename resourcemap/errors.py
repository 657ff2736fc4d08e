"""Errors as values: a code, a message and the field at fault, rendered as JSON for the API."""
from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Marks a Russian message for the catalogues (translations/build.py) where it is defined; the page that shows
    it translates it with gettext."""
    return message


@dataclass
class ApiError(Exception):
    """A client error the API answers with `{"error": {"code", "message", "field"}}`, and `details` beside them
    (a typed place that is not one settlement: its `candidates`)."""

    message: str
    field: str | None = None
    code: str = "invalid"
    status: int = 400
    details: dict | None = None

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field, **(self.details or {})}}


@dataclass(frozen=True)
class DatabaseFailure:
    """A database failure that is not the request's fault, as the user is told about it (503, try again)."""

    code: str
    message: str  # the API's (English)
    page_message: str  # the pages' (Russian)
    retry_after_s: int


DATABASE_UNAVAILABLE = DatabaseFailure("database_unavailable", "The database is unavailable; try again shortly.",
                                       N_("База данных временно недоступна. Попробуйте через минуту."), 5)


def database_failure(error: Exception) -> DatabaseFailure | None:
    """What to answer for a SQLAlchemy or psycopg error: the server is unreachable or restarting (the connection
    failed or was cut: psycopg OperationalError, a DBAPIError whose connection SQLAlchemy invalidated, a closed
    connection), a statement ran past the statement timeout (QueryCanceled), or every pooled connection is busy
    (pool timeout). None for anything else, which is a bug (500)."""
    import psycopg
    from psycopg import errors as pg
    from sqlalchemy import exc as sa

    orig = error.orig if isinstance(error, sa.DBAPIError) else error  # psycopg's own, also when used directly
    if isinstance(orig, pg.QueryCanceled):
        return DatabaseFailure("timeout", "The request took too long and was stopped; try again or ask for less.",
                               N_("Запрос выполнялся слишком долго и был остановлен. Попробуйте ещё раз."), 1)
    if isinstance(error, sa.TimeoutError):
        return DatabaseFailure("busy", "The service is busy; try again shortly.",
                               N_("Сервис перегружен. Попробуйте через несколько секунд."), 5)
    lost = isinstance(error, sa.DBAPIError) and error.connection_invalidated
    closed = isinstance(orig, psycopg.InterfaceError) and "closed" in str(orig)  # used after the server cut it
    if isinstance(orig, psycopg.OperationalError) or lost or closed:
        return DATABASE_UNAVAILABLE
    return None


@dataclass(frozen=True)
class InputFailure:
    """Input that the code's own checks let through and a lower layer refused: the client's fault (400)."""

    message: str  # the API's (English)
    page_message: str  # the pages' (Russian)
    code: str = "invalid"
    status: int = 400


def input_failure(error: BaseException) -> InputFailure | None:
    """A value PostgreSQL cannot take (a NUL character in text, a number out of range: psycopg DataError), or
    JSON the json module could not read although it was well-formed (nested deeper than the stack, a number of
    more than 4300 digits). None for anything else."""
    import psycopg
    from sqlalchemy import exc as sa

    if isinstance(error, (sa.DataError, psycopg.DataError)):
        return InputFailure("The request holds a value that cannot be stored or searched (e.g. a NUL character).",
                            N_("Запрос содержит недопустимые символы или значения."))
    if isinstance(error, (RecursionError, ValueError)):
        # Raised by the json module (nesting deeper than the stack, a number of more than 4300 digits) while
        # reading a request body: the parsers above it only turn JSONDecodeError into a 400.
        tb, in_json = error.__traceback__, False
        while tb is not None:
            in_json = in_json or "/json/" in tb.tb_frame.f_code.co_filename.replace("\\", "/")
            tb = tb.tb_next
        if in_json:
            return InputFailure("The JSON is nested too deeply or holds a number too long to read.",
                                N_("Данные запроса вложены слишком глубоко или содержат слишком длинное число."))
    return None
