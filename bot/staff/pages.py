"""The staff routes, all under /staff, all behind the token (bot/staff/auth.py).

Registered only when STAFF_TOKEN is set; without it every /staff URL is a 404. Pages carry a
strict Content-Security-Policy with no 'unsafe-inline': scripts and styles are static files.
"""

from __future__ import annotations

import html
from importlib import resources

from aiohttp import web

from bot.staff import preview, report
from bot.staff.auth import FAILURES, WINDOW, Handler, StaffAuth
from bot.store.logins import FailedLogins

AUTH = web.AppKey("staff_auth", StaffAuth)
STATIC = {"staff.css": "text/css", "preview.js": "text/javascript"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def secure_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def _static(name: str) -> str:
    return resources.files("bot.web").joinpath(f"static/staff/{name}").read_text("utf-8")


def login_page(message: str = "", status: int = 401, target: str = "preview") -> web.Response:
    page = _static("login.html")
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    page = page.replace("<!--MESSAGE-->", note).replace("__NEXT__", target)
    return web.Response(
        text=page, content_type="text/html", status=status, headers=secure_headers()
    )


def protected(handler: Handler, *, api: bool, target: str = "preview") -> Handler:
    """The handler, run only for a valid cookie or bearer token; otherwise the login form (a
    page) or a JSON 401/429 (the API), neither showing any content."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        verdict = await request.app[AUTH].check(request)
        if verdict == "ok":
            return await handler(request)
        if verdict == "blocked":
            message = f"Too many wrong tokens: try again in {WINDOW // 60} minutes."
            if api:
                return web.json_response(
                    {"error": message}, status=429, headers={"Retry-After": str(WINDOW)}
                )
            return login_page(message, 429, target)
        if api:
            return web.json_response(
                {"error": "log in at /staff/preview, or send Authorization: Bearer <token>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="safar-staff"'},
            )
        return login_page("Wrong token." if verdict == "wrong" else "", 401, target)

    return wrapped


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target = "report" if form.get("next") == "report" else "preview"
    verdict = await request.app[AUTH].attempt(request, str(form.get("token", "")))
    if verdict == "blocked":
        return login_page(f"Too many wrong tokens: try again in {WINDOW // 60} minutes.", 429)
    if verdict != "ok":
        return login_page("Wrong token.", 401, target)
    response = _see_other(f"/staff/{target}")
    request.app[AUTH].set_cookie(request, response)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = _see_other("/staff/preview")
    StaffAuth.clear_cookie(response)
    return response


def _see_other(location: str) -> web.Response:
    """303: after a form POST the browser GETs the page, so a reload never re-sends the form."""
    return web.Response(status=303, headers={"Location": location})


async def preview_page(request: web.Request) -> web.Response:
    from bot.app import SETTINGS

    page = _static("preview.html")
    if request.app[SETTINGS].preview_dir is None:
        page = page.replace(
            '<button type="button" id="from-dir">', '<button type="button" id="from-dir" hidden>'
        )
    return web.Response(text=page, content_type="text/html", headers=secure_headers())


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.Response(
        text=_static(name),
        content_type=STATIC[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/staff/preview")


def setup(app: web.Application) -> None:
    from bot.app import SETTINGS, STORE

    settings = app[SETTINGS]
    assert settings.staff_token is not None
    token = settings.staff_token.get_secret_value()

    def logins() -> FailedLogins:
        store = app[STORE]
        return FailedLogins(
            store.redis, prefix=store.prefix, salt=str(store.salt), limit=FAILURES, window=WINDOW
        )

    app[AUTH] = StaffAuth(token, logins)
    app[preview.DRAFTS] = preview.Drafts()
    app.router.add_get("/staff", home)
    app.router.add_get("/staff/", home)
    app.router.add_post("/staff/login", login)
    app.router.add_post("/staff/logout", logout)
    app.router.add_get("/staff/static/{name}", static)
    app.router.add_get("/staff/preview", protected(preview_page, api=False))
    app.router.add_get(
        "/staff/report", protected(report.report_handler, api=False, target="report")
    )
    app.router.add_post("/staff/api/turn", protected(preview.turn_handler, api=True))
    app.router.add_post("/staff/api/draft", protected(preview.draft_handler, api=True))
