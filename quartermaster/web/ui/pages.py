"""The dashboard at /ui/: one page, its scripts and its styles, static files of the package.

The page holds no data, so it needs no token: its scripts ask the API for everything, with the
token the user typed in (kept in the tab's sessionStorage). Only the files of `static/` with a
type of the table below are served; anything else is the API's JSON 404.
"""

from pathlib import Path, PurePosixPath

from flask import Blueprint, Response, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from quartermaster.web.describe import page

FILES = Path(__file__).parent / "static"
# By suffix: the type each file is served as (werkzeug adds the charset of text types).
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}

blueprint = Blueprint("ui", __name__, url_prefix="/ui")


@blueprint.get("")
@page
def to_index() -> ResponseReturnValue:
    """/ui: the page is /ui/, which its files' relative paths need."""
    return Response(status=308, headers={"Location": url_for("ui.index")})


@blueprint.get("/")
@page
def index() -> ResponseReturnValue:
    return _static_file("index.html")


@blueprint.get("/<path:filename>")
@page
def static_file(filename: str) -> ResponseReturnValue:
    return _static_file(filename)


def _static_file(filename: str) -> ResponseReturnValue:
    mimetype = TYPES.get(PurePosixPath(filename).suffix)
    if mimetype is None:
        raise NotFound()
    # safe_join inside: a path out of FILES ("..", an absolute one) or no such file is a 404.
    response = send_from_directory(FILES, filename, mimetype=mimetype)
    # Asked again each time (answered 304 while unchanged): an upgrade's files are used at once.
    response.headers["Cache-Control"] = "no-cache"
    return response
