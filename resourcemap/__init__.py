"""resourcemap: which help of this kind is nearest to this family.

create_app() binds configuration, the database, the blueprints and the error handlers; nothing else."""
from __future__ import annotations

import logging

import psycopg
from apiflask import APIFlask
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from . import assets, db, ratelimit, security
from .config import PROJECT_ROOT, load_config, secret_key
from .json_provider import OrjsonProvider
from .errors import N_, ApiError, database_failure, input_failure, render_error, wants_json

log = logging.getLogger(__name__)

ERROR_SCHEMA = {  # OpenAPI form of errors.error_body()
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string", "nullable": True}}}},
}


def create_app(overrides: dict | None = None) -> APIFlask:
    app = APIFlask(__name__, title="resourcemap API", version="1.0", docs_path="/api/v1/docs",
                   spec_path="/api/v1/openapi.json", template_folder=str(PROJECT_ROOT / "templates"),
                   static_folder=str(PROJECT_ROOT / "static"))
    app.config.update(load_config(overrides))
    app.config.update(
        VALIDATION_ERROR_STATUS_CODE=400,
        JSON_SORT_KEYS=False,
        DOCS_FAVICON="data:,",
        # The docs page's scripts come from static/ like everything else: no CDN at run time.
        SWAGGER_UI_CSS="/static/vendor/swagger-ui/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS="/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        INFO={"description": "Nearest family-support services in Russia and Kazakhstan. Errors are "
                             "{\"error\": {\"code\", \"message\", \"field\"}}."},
    )
    app.config.update(
        SECRET_KEY=secret_key(app.config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(app.config["HTTPS"]),
        REMEMBER_COOKIE_SECURE=bool(app.config["HTTPS"]),
        REMEMBER_COOKIE_SAMESITE="Lax",
        RATELIMIT_STORAGE_URI=app.config["REDIS_URL"] or f"{ratelimit.SCHEME}://",
        RATELIMIT_HEADERS_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.security_schemes = {"BearerAuth": {"type": "http", "scheme": "bearer"}}
    app.json = OrjsonProvider(app)  # keys in insertion order, UTF-8 (json_provider.py)
    db.init_app(app)
    security.init_app(app)
    assets.init_app(app)  # compression, fingerprinted static URLs, cache headers
    _init_auth(app)
    from .public.i18n import init_babel  # Flask-Babel: Russian pages, English on ?lang=en
    init_babel(app)

    _register_blueprints(app)
    _register_error_handlers(app)

    from .cli import register as register_commands

    register_commands(app)
    return app


def _register_blueprints(app: APIFlask) -> None:
    """The API (/api/v1), sign-in, the parents' pages (/), the console (/dispatch), the registry (/curate) and
    the coverage figures (/coverage)."""
    from .api import bp as api_bp
    from .api.schemas import require_bodies
    from .auth import bp as auth_bp
    from .coverage.views import bp as coverage_bp
    from .curate import bp as curate_bp
    from .dispatch import bp as dispatch_bp
    from .public import bp as public_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.spec_processor(require_bodies)
    app.register_blueprint(public_bp)
    app.register_blueprint(dispatch_bp)
    app.register_blueprint(curate_bp)
    app.register_blueprint(coverage_bp)


def _init_auth(app: APIFlask) -> None:
    """Sessions (Flask-Login), CSRF on every form (the API is exempt: it takes no cookie-authenticated writes),
    the public API's rate limit (Flask-Limiter; Redis when RESOURCEMAP_REDIS_URL is set) and the sign-in limits
    (counted in the database, auth/signin_limits.py)."""
    from .api import bp as api_bp
    from .auth import session as _session  # noqa: F401  (registers the user loader)
    from .auth import signin_limits
    from .extensions import csrf, limiter, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    csrf.exempt(api_bp)
    limiter.init_app(app)  # the API's own limit is declared once, with its blueprint (api/__init__.py)
    signin_limits.check_settings(app)


# What an error page says where the exception's own description is werkzeug's English.
PAGE_MESSAGES = {
    404: N_("Такой страницы нет. Проверьте адрес или начните поиск заново."),
    405: N_("Эта страница так не открывается. Начните поиск заново."),
    429: N_("Слишком много запросов подряд. Подождите минуту и попробуйте снова."),
    500: N_("Ошибка на нашей стороне. Попробуйте ещё раз чуть позже."),
}


def _register_error_handlers(app: APIFlask) -> None:
    @app.error_processor
    def http_error(error):  # APIFlask HTTPError, incl. request validation errors
        field, message = _first_validation_problem(error.detail) if error.detail else (None, error.message)
        code = "invalid" if error.status_code in (400, 422) else _status_code_name(error.status_code)
        return render_error(error.status_code, code, message or error.message, field, headers=error.headers)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):  # with its details (a typed place's candidates)
        return render_error(error.status, error.code, error.message, error.field, details=error.details)

    @app.errorhandler(HTTPException)
    def http_exception(error: HTTPException):
        message = error.description or ""
        if error.code == 413 and not wants_json():
            message = gettext("Файл или форма слишком велики: не больше %(mb)s МБ.",
                              mb=app.config["MAX_CONTENT_LENGTH"] // 2**20)
        elif error.code in PAGE_MESSAGES and not wants_json() and message == type(error).description:
            message = PAGE_MESSAGES[error.code]
        # The exception's own headers go with the answer (a 405's Allow, RFC 9110), all but its Content-Type.
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        return render_error(error.code or 500, _status_code_name(error.code or 500), message, headers=headers)

    def refused_input(error):
        bad = input_failure(error)
        if bad is not None:
            log.warning("refused input: %s", str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
            return render_error(bad.status, bad.code, bad.message if wants_json() else bad.page_message)
        return None

    @app.errorhandler(SQLAlchemyError)
    @app.errorhandler(psycopg.Error)  # statements run on psycopg directly (search/nearest.py)
    def database_error(error):
        if (answer := refused_input(error)) is not None:
            return answer
        # Down, restarting, a statement past the statement timeout, or no free connection: 503, try again.
        failure = database_failure(error)
        if failure is None:
            log.exception("database error")
            return render_error(500, "internal", "Something went wrong on our side." if wants_json()
                                   else PAGE_MESSAGES[500])
        db.replica_failed()  # a replica that went away: the next requests read elsewhere
        detail = (str(getattr(error, "orig", error)).strip().splitlines() or [""])[0]
        log.error("database %s: %s", failure.code, detail[:200])
        return render_error(503, failure.code, failure.message if wants_json() else failure.page_message,
                               headers={"Retry-After": str(failure.retry_after_s)})

    @app.errorhandler(Exception)
    def unexpected(error):
        if (answer := refused_input(error)) is not None:  # JSON nested too deeply for the parser
            return answer
        log.exception("unexpected error")
        return render_error(500, "internal", "Something went wrong on our side." if wants_json()
                               else PAGE_MESSAGES[500])


def _status_code_name(status: int) -> str:
    return {400: "invalid", 404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "too_many_requests",
            503: "unavailable"}.get(status, "error")


def _first_validation_problem(detail: dict) -> tuple[str | None, str]:
    """(field, message) of the first problem in APIFlask's {"query": {"lat": ["..."]}} detail; a nested one
    ({"json": {"services": {0: ["..."]}}}) named as the document checks name it: `services[0]`."""
    for _location, problems in detail.items():
        keys = []
        while isinstance(problems, dict) and problems:
            key, problems = next(iter(problems.items()))
            keys.append(key)
        if keys:
            field = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys if k != "_schema").lstrip(".")
            msg = problems[0] if isinstance(problems, list) and problems else str(problems)
            return field or None, f"{field}: {msg}" if field else str(msg)
    return None, "Invalid request."
