"""The dashboard's files at /ui/: served without the token, with their types, under a strict
browser policy; nothing else served from there; no way in its scripts to turn data into markup.
(In a real browser against the lab: tests/lab/test_dashboard.py.)"""

import re
import shutil
import tomllib
from fnmatch import fnmatch

import pytest

from quartermaster.web.browser_policy import CONTENT_SECURITY_POLICY
from quartermaster.web.describe import is_page
from quartermaster.web.ui import pages
from quartermaster.web.ui.pages import FILES, TYPES
from support.api import assert_error
from support.settings import BEARER, PROJECT_ROOT

STATIC_FILES = sorted(path.name for path in FILES.iterdir())
SCRIPTS = sorted(FILES.glob("*.js"))
PAGES = {"/ui", "/ui/", "/ui/<path:filename>"}


def assert_browser_policy(response):
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_policy_allows_only_this_servers_own_files():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["img-src"] == "'self'"  # no data: images: nothing uses them
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("name", STATIC_FILES)
def test_no_file_uses_a_data_url(name):
    """What img-src leaves out: a data: URL (data:image/png;base64,...) in any file."""
    assert re.findall(r"data:[\w.+-]+/", FILES.joinpath(name).read_text()) == []


def test_the_page_needs_no_token_and_carries_the_policy(flask_client):
    response = flask_client.get("/ui/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    assert '<script type="module" src="app.js"></script>' in response.get_data(as_text=True)
    assert_browser_policy(response)


def test_ui_without_its_slash_redirects_to_the_page(flask_client):
    response = flask_client.get("/ui")
    assert response.status_code == 308
    assert response.headers["Location"] == "/ui/"


@pytest.mark.parametrize("name", STATIC_FILES)
def test_each_file_is_served_with_its_type(flask_client, name):
    response = flask_client.get(f"/ui/{name}")
    assert response.status_code == 200
    assert response.mimetype == TYPES[FILES.joinpath(name).suffix]
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.get_data() == FILES.joinpath(name).read_bytes()
    assert_browser_policy(response)
    again = flask_client.get(f"/ui/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304  # no-cache: asked again, not sent again


def test_scripts_are_text_javascript(flask_client):
    assert (
        flask_client.get("/ui/app.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nosuchfile.js",
        "/ui/../openapi.json",
        "/ui/%2e%2e/__init__.py",
        "/ui/..%2f__init__.py",
        "/ui/static/app.js",
        "/ui/app.js.map",
        "/ui/app",
    ],
)
def test_anything_else_under_ui_is_the_apis_json_404(flask_client, path):
    assert_error(flask_client.get(path), 404)


def test_only_the_dashboards_routes_are_pages(app):
    pages = {
        rule.rule for rule in app.url_map.iter_rules() if is_page(app.view_functions[rule.endpoint])
    }
    assert pages == PAGES


def test_the_api_still_needs_the_token_next_to_the_pages(flask_client):
    assert_error(flask_client.get("/jobs"), 401)
    # A page's route (a file named "../jobs", of no type served), never /jobs without its token.
    assert_error(flask_client.get("/ui/../jobs"), 404)
    assert flask_client.get("/jobs", headers=BEARER).status_code == 200


@pytest.fixture
def script_beside_the_files(tmp_path, monkeypatch):
    """The dashboard's files copied to a directory of their own, and beside that directory (out
    of it) a script: a file of a type that is served, so that only the traversal check stands
    between a path that climbs out and the script."""
    files = tmp_path / "static"
    shutil.copytree(FILES, files)
    (tmp_path / "beside.js").write_text("window.__beside = 1;\n")
    monkeypatch.setattr(pages, "FILES", files)
    return files


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../beside.js",
        "/ui/%2e%2e/beside.js",
        "/ui/..%2fbeside.js",
        "/ui/%2E%2E%2Fbeside.js",
        "/ui/./../beside.js",
        "/ui/nosuchdir/../../beside.js",
    ],
)
def test_a_path_out_of_the_dashboards_files_is_a_404(flask_client, script_beside_the_files, path):
    assert flask_client.get("/ui/app.js").status_code == 200  # served from the copy
    response = flask_client.get(path)
    assert_error(response, 404)
    assert b"__beside" not in response.get_data()


@pytest.mark.parametrize("path", ["/healthz", "/jobs", "/nosuchroute"])
def test_every_answer_carries_the_browser_policy(flask_client, path):
    assert_browser_policy(flask_client.get(path))


def test_every_file_is_package_data():
    """The image installs the package with `pip install .`: each file must be in the wheel."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["quartermaster.web.ui"]
    assert all(
        any(fnmatch(f"static/{name}", pattern) for pattern in patterns) for name in STATIC_FILES
    )
    assert all(FILES.joinpath(name).suffix in TYPES for name in STATIC_FILES)  # each is served


# What would turn text into markup or code: none of it in the scripts, whatever the data. (A
# search of the text: what h() does with an attribute it is given is tested in a browser, in
# tests/lab/test_dashboard.py's test_h_refuses_or_defuses_every_attribute_that_could_run_code.)
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|new Function|srcdoc"
    r"|createContextualFragment|DOMParser|setAttribute\(\s*[\"']on|javascript:"
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_turns_text_into_markup(script):
    assert SINKS.findall(script.read_text()) == []


def test_the_page_has_no_inline_script_or_style():
    page = FILES.joinpath("index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"<style|\sstyle=|\son[a-z]+=", page) == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_module_a_script_imports_is_served(script):
    imported = re.findall(r"""from\s+["']\./([\w.-]+)["']""", script.read_text())
    assert imported == [name for name in imported if FILES.joinpath(name).is_file()]
