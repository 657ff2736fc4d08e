"""Errors as values: a code, a message and the field at fault; rendered in one place (render_error) as JSON for
the API and the consoles' scripts, as a readable page for everyone else."""
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


# --- rendering ---------------------------------------------------------------------------------------------------
def wants_json() -> bool:
    """Whether this request's client reads JSON: the API (/api/v1/...) and the consoles' JSON calls
    (/dispatch/api/...)."""
    from flask import request

    return "/api/" in request.path


def error_body(code: str, message: str, field: str | None = None, **details) -> dict:
    """The JSON of an error: `{"error": {"code", "message", "field", **details}}`."""
    return {"error": {"code": code, "message": message, "field": field, **details}}


def render_error(status: int, code: str, message: str, field: str | None = None, *, details: dict | None = None,
                 headers: dict | None = None, json: bool | None = None, template: str = "error.html",
                 translate: bool = True, **context):
    """The one answer to an error: `{"error": {"code", "message", "field", **details}}` for a client that reads JSON
    (wants_json(), or `json` where the caller knows), else the error page `template` showing `message`: a Russian
    msgid shown in the page's language, or (translate=False) a text the caller has already translated."""
    from flask import render_template
    from flask_babel import gettext

    if wants_json() if json is None else json:
        return error_body(code, message, field, **(details or {})), status, headers or {}
    shown = gettext(message) if message and translate else message
    return render_template(template, status=status, message=shown, **context), status, headers or {}


def stale_form_handler(page_message: str, json_message: str | None = None, template: str = "error.html"):
    """A blueprint's answer to Flask-WTF's CSRFError (a form or a console's page gone stale): 400, code csrf, with
    its own words (N_-marked msgids) on the page and, if it has JSON calls, in their JSON."""
    def stale_form(error):
        from flask_babel import gettext

        to_json = json_message is not None and wants_json()
        return render_error(400, "csrf", gettext(json_message if to_json else page_message), json=to_json,
                            template=template, translate=False)

    return stale_form
