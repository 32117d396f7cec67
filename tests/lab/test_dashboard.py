"""The dashboard at /ui/ in a real browser (Debian's headless chromium, driven by Playwright)
against a live server on the lab: log in, run a job from the form and watch it end, stop one,
filter the jobs, see the nodes, dispatch a template from its page; attacker-controlled text
shown as text and never run; the browser policy in force; through nginx too. Screenshots of the
pages go to $QM_ARTIFACTS (or a temporary directory), named in the run's output."""

import os
import re
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from support.lab import DEPLOYMENT, TEST_LABEL, this_test_labels, wait_until
from support.settings import TOKEN

CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright's own download cannot work here
SCRIPT_PAYLOAD = "<script>window.__xss=1</script>"
IMG_PAYLOAD = '<img src=x onerror="window.__xss=1">'
# As a command: swarm's error quotes it, escaping quotes; markup without any stays whole.
COMMAND_PAYLOAD = "<img src=x onerror=window.__xss=1>"
BROWSER_ZONE = "Asia/Tokyo"  # tokyo_page's
NOTHING = "\N{EN DASH}"  # what a page shows for a field without a value
# What each job page's status field showed, in order: a recorder in every page.
STATUS_RECORDER = """
window.__statuses = [];
new MutationObserver(() => {
  const field = document.querySelector('[data-field="status"]');
  const shown = field && field.textContent;
  if (shown && window.__statuses[window.__statuses.length - 1] !== shown) {
    window.__statuses.push(shown);
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts(request, tmp_path_factory) -> Path:
    """Where the screenshots go; named in the run's output."""
    directory = Path(os.environ.get("QM_ARTIFACTS") or tmp_path_factory.mktemp("dashboard"))
    directory.mkdir(parents=True, exist_ok=True)
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past the capture of the test's output
            reporter.write_line(f"\ndashboard screenshots: {directory}")
    return directory


@pytest.fixture
def page(browser: Browser):
    """A fresh tab (its own sessionStorage) that fails the test on any script error, on the token
    in any URL it asks for, or on a cookie."""
    yield from checked_page(browser)


@pytest.fixture
def tokyo_page(browser: Browser):
    """`page` in a browser whose clock is Tokyo's: neither UTC nor a schedule's zone here."""
    yield from checked_page(browser, timezone_id=BROWSER_ZONE)


def checked_page(browser: Browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    context.add_init_script(STATUS_RECORDER)
    page = context.new_page()
    errors, urls = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: urls.append(request.url))
    yield page
    assert not [url for url in urls if TOKEN in url], "the token went into a URL"
    assert context.cookies() == []
    context.close()
    assert errors == []


def log_in(page: Page, url: str) -> None:
    page.goto(f"{url}/ui/")
    page.fill("#token", TOKEN)
    page.click("form.login button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()


def run_job(server, **request) -> str:
    return server.client().run_ok(**request)


def wait_final(server, job_id: str) -> dict:
    return server.client().get(f"/status/{job_id}", params={"wait": 30}, timeout=40).json()


def wait_started(server, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        document = server.client().status(job_id)
        if document["status"] == "started":
            return document
        time.sleep(0.2)
    raise AssertionError(f"the job did not start: {document}")


def shown_status(page: Page):
    return page.locator('[data-field="status"]')


def test_log_in_keeps_the_token_in_the_tab_only_and_log_out_forgets_it(live_server, page):
    page.goto(f"{live_server.url}/ui")
    expect(page).to_have_url(f"{live_server.url}/ui/")
    page.fill("#token", "not-the-token")
    page.click("form.login button[type=submit]")
    expect(page.locator(".login .error")).to_contain_text("invalid token")
    expect(page.locator("#nav")).to_be_hidden()
    log_in(page, live_server.url)
    assert page.evaluate("sessionStorage.getItem('quartermaster.token')") == TOKEN
    assert page.evaluate("localStorage.length") == 0
    page.evaluate("sessionStorage.setItem('quartermaster.token', 'changed-token')")
    page.click("#nav >> text=Nodes")  # refused: back to the form, saying why
    expect(page.locator(".login .error")).to_contain_text("invalid token")
    assert page.evaluate("sessionStorage.length") == 0
    log_in(page, live_server.url)
    page.click("#logout")
    expect(page.locator("#token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_job_run_from_the_form_is_watched_to_its_end(lab, live_server, page, artifacts):
    log_in(page, live_server.url)
    page.click("#nav >> text=Run")
    page.fill("#run-image", lab.image)
    page.fill("#run-command", "sh -c 'sleep 2; echo hello-from-ui'")
    page.fill("#run-labels", f"{TEST_LABEL}={this_test_labels()[TEST_LABEL]}\nteam=ui")
    page.click("form.run button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/jobs/[a-z0-9]{25}$"))
    expect(shown_status(page)).to_have_text("complete", timeout=30_000)
    assert page.evaluate("window.__statuses") == ["pending", "started", "complete"]
    expect(page.locator("#log")).to_have_text("hello-from-ui\n")
    expect(page.locator('.spec [data-field="labels"]')).to_contain_text("team=ui")
    expect(page.locator('[data-field="template"]')).to_have_text(NOTHING)  # from no template
    # The reaper records each change (every REAPER_INTERVAL): the timeline catches up.
    expect(page.locator(".timeline tbody tr").last).to_contain_text("complete", timeout=15_000)
    page.screenshot(path=artifacts / "job.png", full_page=True)


def test_the_form_shows_the_servers_refusal_next_to_its_field(lab, live_server, page):
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/run")
    page.fill("#run-image", lab.image)
    page.fill("#run-memory", "1")  # under the minimum
    page.click("form.run button[type=submit]")
    expect(page.locator("#error-memory")).to_contain_text("6")
    expect(page.locator("#error-image")).to_have_text("")
    assert "#/run" in page.url  # no job, no page


def test_the_form_shows_the_servers_default_memory(live_server_factory, page):
    server = live_server_factory("--memory", "512")  # not the default's default
    log_in(page, server.url)
    page.goto(f"{server.url}/ui/#/run")
    expect(page.locator("#run-memory")).to_have_attribute("placeholder", "MB (default 512)")


def test_submitting_the_same_form_twice_starts_one_job(lab, live_server, page):
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/run")
    page.fill("#run-image", lab.image)
    mark = f"{TEST_LABEL}={this_test_labels()[TEST_LABEL]}"
    page.fill("#run-labels", mark)
    page.evaluate(
        "() => { const form = document.querySelector('form.run');"
        " form.requestSubmit(); form.requestSubmit(); }"
    )  # both before the first answer: the same Idempotency-Key
    expect(page).to_have_url(re.compile(r"#/jobs/[a-z0-9]{25}$"))

    def listed() -> list[str]:
        jobs = live_server.client().get("/jobs", params={"label": mark}).json()["jobs"]
        return [job["id"] for job in jobs]

    # The second submit may be answered first (its key names the job), before the first's
    # record is committed: the record shows soon after.
    wait_until(listed, 30, "the job was never recorded")
    assert listed() == [page.url.rsplit("/", 1)[1]]


def test_a_running_job_is_stopped_with_the_stop_button(lab, live_server, page):
    job_id = run_job(live_server, image=lab.image, command="sleep 300")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/jobs/{job_id}")
    expect(shown_status(page)).to_have_text("started", timeout=30_000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Stop")
    expect(shown_status(page)).to_have_text("shutdown", timeout=30_000)
    expect(page.locator("button", has_text="Stop")).to_be_disabled()


def test_the_jobs_table_lists_and_filters_the_jobs(lab, live_server_factory, page, artifacts):
    # A deployment of its own too: its reaper records only its own jobs, never another live
    # job of this process's deployment, so its table holds only this test's.
    own_server = live_server_factory(env={"DEPLOYMENT": f"{DEPLOYMENT}-jobs-table"})
    done = run_job(own_server, image=lab.image, command="true", labels={"ui-test": "done"})
    failed = run_job(
        own_server, image=lab.image, command="sh -c 'exit 3'", labels={"ui-test": "failed"}
    )
    assert wait_final(own_server, done)["status"] == "complete"
    assert wait_final(own_server, failed)["status"] == "failed"
    log_in(page, own_server.url)
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-id", failed)  # newest first
    page.screenshot(path=artifacts / "jobs.png", full_page=True)

    page.goto(f"{own_server.url}/ui/#/jobs?limit=1")  # a page of one job
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", failed)
    page.get_by_role("button", name="Next").click()
    expect(rows.first).to_have_attribute("data-id", done)
    expect(page.get_by_role("button", name="Next")).to_be_disabled()  # the last page
    page.get_by_role("button", name="Previous").click()
    expect(rows.first).to_have_attribute("data-id", failed)
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.goto(f"{own_server.url}/ui/#/jobs")

    page.select_option("#filter-status", "failed")
    expect(page).to_have_url(re.compile(r"#/jobs\?status=failed$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", failed)
    expect(rows.first.locator("td").nth(5)).to_have_text("3")  # its exit code

    page.select_option("#filter-status", "")
    page.fill("#filter-label", "ui-test=done")
    page.press("#filter-label", "Enter")
    expect(page).to_have_url(re.compile(r"#/jobs\?label=ui-test%3Ddone$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", done)
    page.reload()  # the filter is in the hash
    expect(rows).to_have_count(1)
    expect(page.locator("#filter-label")).to_have_value("ui-test=done")


def test_the_nodes_page_shows_each_node_with_bars(lab, live_server, page, artifacts):
    job_id = run_job(live_server, image=lab.image, command="sleep 60", memory=8000, cpus=1)
    running_on = wait_started(live_server, job_id)["node"]

    nodes: list[dict] = []

    def reserved_where_it_runs() -> bool:
        """/nodes shows the job (a reading is kept for a reaper round: docs/api.md)."""
        nodes[:] = live_server.client().get("/nodes").json()["nodes"]
        reserved = {node["id"]: node["reserved_memory_mb"] for node in nodes}
        return reserved.get(running_on, 0) >= 8000

    wait_until(reserved_where_it_runs, 30, "/nodes did not show the job's reservation")
    log_in(page, live_server.url)
    page.click("#nav >> text=Nodes")
    cards = page.locator("section.node")
    expect(cards).to_have_count(len(nodes))
    assert len(nodes) > lab.workers  # the workers and the manager
    expect(page.locator("p.as-of")).to_contain_text(
        re.compile(r"at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    )
    for node in nodes:
        card = page.locator(f'section.node[data-id="{node["id"]}"]')
        expect(card.locator("h2")).to_have_text(node["hostname"])
        expect(card).to_contain_text(f"{node['role']} · {node['state']} · {node['availability']}")
        expect(card).to_contain_text(f" / {node['memory_mb']} MB reserved")
        expect(card.locator("meter")).to_have_count(2)
    # At least the job's: tasks of the jobs earlier tests removed count until their containers end.
    busy = page.locator(f'section.node[data-id="{running_on}"]')
    assert float(busy.locator("meter").first.get_attribute("value")) >= 8000
    assert float(busy.locator("meter").last.get_attribute("value")) >= 1
    expect(busy).to_contain_text(re.compile(r"[1-9]\d* running"))
    page.screenshot(path=artifacts / "nodes.png", full_page=True)


def test_attacker_text_is_shown_as_text_and_never_run(lab, live_server, page):
    printing = run_job(
        live_server,
        image=lab.image,
        command=["sh", "-c", f"echo '{SCRIPT_PAYLOAD}'; echo '{IMG_PAYLOAD}'"],
        labels={"note": SCRIPT_PAYLOAD + IMG_PAYLOAD},
        env={"<script>window.__xss++</script>": "1"},
    )
    refused = run_job(live_server, image=lab.image, command=[COMMAND_PAYLOAD])  # no such file
    assert wait_final(live_server, printing)["status"] == "complete"
    rejected = wait_final(live_server, refused)
    assert rejected["status"] == "rejected" and COMMAND_PAYLOAD in rejected["error"]

    log_in(page, live_server.url)
    refused_row = page.locator(f'table.jobs tr[data-id="{refused}"]')
    expect(refused_row).to_contain_text(COMMAND_PAYLOAD)  # swarm's error quotes the command
    page.goto(f"{live_server.url}/ui/#/jobs/{printing}")
    expect(page.locator("#log")).to_have_text(f"{SCRIPT_PAYLOAD}\n{IMG_PAYLOAD}\n")
    labels = page.locator('.spec [data-field="labels"] li')
    expect(labels).to_have_count(2)  # its own and the test's (run_job labels every job)
    mark = f"{TEST_LABEL}={this_test_labels()[TEST_LABEL]}"
    assert sorted(labels.all_text_contents()) == [f"note={SCRIPT_PAYLOAD}{IMG_PAYLOAD}", mark]
    expect(page.locator('.spec [data-field="env"]')).to_contain_text("<script>window.__xss++")
    assert page.locator("#main img, #main script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_the_browser_enforces_the_policy(live_server, page):
    response = page.goto(f"{live_server.url}/ui/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    violations = page.evaluate(
        """() => new Promise((resolve) => {
            const seen = [];
            document.addEventListener('securitypolicyviolation', (event) => {
                seen.push(event.effectiveDirective);
                resolve(seen);
            });
            setTimeout(() => resolve(seen), 5000);  // none: the script ran, or was not refused
            const script = document.createElement('script');
            script.textContent = 'window.__inline = 1';
            document.head.append(script);
        })"""
    )
    assert violations and violations[0].startswith("script-src")
    assert page.evaluate("typeof window.__inline") == "undefined"


def test_the_dashboard_through_nginx_follows_a_log(lab, live_server, nginx_factory, page):
    nginx = nginx_factory(live_server.port)
    script = "for i in 1 2 3 4; do echo tick-$i; sleep 1; done"
    job_id = run_job(live_server, image=lab.image, command=["sh", "-c", script])
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    log_in(page, nginx.url)
    page.goto(f"{nginx.url}/ui/#/jobs/{job_id}")
    expect(page.locator("#log")).to_contain_text("tick-1", timeout=30_000)
    assert "tick-4" not in page.locator("#log").text_content()  # nginx held nothing back
    expect(shown_status(page)).to_have_text("started")
    expect(page.locator("#log-state")).to_have_text("(following)")
    expect(page.locator("#log")).to_have_text("tick-1\ntick-2\ntick-3\ntick-4\n", timeout=30_000)
    expect(shown_status(page)).to_have_text("complete", timeout=30_000)
    assert asked and all(url.startswith(f"{nginx.url}/") for url in asked)


def test_the_token_field_is_not_offered_to_password_managers(live_server, page):
    """The token opens every job: it is typed hidden, but no password to save or fill in."""
    page.goto(f"{live_server.url}/ui/")
    field = page.locator("#token")
    expect(field).to_have_attribute("type", "password")
    expect(field).to_have_attribute("autocomplete", "off")
    expect(page.locator("form.login")).to_have_attribute("autocomplete", "off")
    for hint in ("data-1p-ignore", "data-lpignore", "data-bwignore", "data-form-type"):
        expect(field).to_have_attribute(hint, re.compile(".*"))


# A 1x1 GIF: an image any browser shows, unless the policy refuses it.
DATA_IMAGE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def test_the_policy_refuses_data_images(live_server, page):
    page.goto(f"{live_server.url}/ui/")
    refused = page.evaluate(
        """(source) => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation',
                                      (event) => resolve(event.effectiveDirective));
            const image = document.createElement('img');
            image.addEventListener('load', () => resolve('loaded'));
            setTimeout(() => resolve('neither'), 5000);
            image.src = source;
            document.body.append(image);
        })""",
        DATA_IMAGE,
    )
    assert refused == "img-src"
    # The page's own icon is this server's file: still allowed.
    assert requests.get(f"{live_server.url}/ui/icon.svg", timeout=5).status_code == 200


# h() (dom.js) given what would run code in each way an attribute can: its answer for each, and
# whether anything ran. The page's policy is bypassed here, so that what is tested is h() alone
# (the policy is tested on its own above).
H_PAYLOADS = """async () => {
  const { h } = await import("/ui/dom.js");
  const RUN = "window.__ran = (window.__ran || 0) + 1";
  const cases = [
    ["img", "onerror", RUN], ["img", "ONERROR", RUN], ["img", "OnError", RUN],
    ["button", "onclick", RUN], ["button", "ONCLICK", RUN], ["div", "onmouseover", RUN],
    ["input", "onfocus", RUN], ["form", "onsubmit", RUN], ["body", "onload", RUN],
    ["a", "href", "javascript:" + RUN], ["a", "href", "JaVaScRiPt:" + RUN],
    ["a", "href", " \\tjava\\nscript:" + RUN], ["a", "href", "\\x01javascript:" + RUN],
    ["a", "HREF", "javascript:" + RUN], ["a", "href", "vbscript:msgbox(1)"],
    ["a", "href", "data:text/html,<script>" + RUN + "</script>"],
    ["img", "src", "javascript:" + RUN],
    ["img", "src", "data:image/svg+xml,<svg onload='" + RUN + "'/>"],
    ["form", "action", "javascript:" + RUN], ["button", "formaction", "javascript:" + RUN],
    ["video", "poster", "javascript:" + RUN],
    ["div", "style", "background:url(javascript:" + RUN + ")"],
    ["div", "STYLE", "color:red"], ["div", "srcdoc", "<script>" + RUN + "</script>"],
    ["script", "src", "/ui/app.js"], ["iframe", "src", "javascript:" + RUN],
    ["object", "data", "javascript:" + RUN], ["embed", "src", "javascript:" + RUN],
    ["div", "title", '"><img src=x onerror="' + RUN + '">'],
    ["div", "data-x", "<script>" + RUN + "</script>"],
    ["div", "class", '"><img src=x onerror="' + RUN + '">'],
  ];
  const results = [];
  for (const [tag, key, value] of cases) {
    let node = null;
    let refused = null;
    try {
      node = h(tag, { [key]: value }, "<img src=x onerror='" + RUN + "'>");
    } catch (error) {
      refused = String(error);
    }
    if (node) {
      document.body.append(node);
      for (const type of ["click", "error", "load", "focus", "mouseover", "submit"]) {
        node.dispatchEvent(new Event(type));
      }
      if (node.tagName === "A" || node.tagName === "BUTTON") node.click();
    }
    results.push({
      tag, key, value, refused,
      attributes: node && Object.fromEntries([...node.attributes].map((a) => [a.name, a.value])),
      elements: node ? node.querySelectorAll("*").length : null,
    });
  }
  // What h() must still do: a listener that is a function, and links within the app or the web.
  let clicked = 0;
  const button = h("button", { onclick: () => (clicked += 1) }, "ok");
  document.body.append(button);
  button.click();
  const links = ["#/jobs/abc", "https://example.com/x", "icon.svg"].map(
    (href) => h("a", { href }, "link").getAttribute("href"));
  await new Promise((resolve) => setTimeout(resolve, 1000));  // an image's error, a navigation
  return { results, ran: window.__ran ?? 0, clicked, links };
}"""
URL_KEYS = {"href", "src", "action", "formaction", "poster", "data"}
REFUSED_TAGS = {"script", "iframe", "object", "embed"}


def test_h_refuses_or_defuses_every_attribute_that_could_run_code(live_server, browser):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_server.url}/ui/")
        outcome = page.evaluate(H_PAYLOADS)
        assert outcome["ran"] == 0
        assert page.url == f"{live_server.url}/ui/"  # no click went anywhere
    finally:
        context.close()
    assert errors == []
    assert outcome["clicked"] == 1
    assert outcome["links"] == ["#/jobs/abc", "https://example.com/x", "icon.svg"]
    for case in outcome["results"]:
        key, value, attributes = case["key"].lower(), case["value"], case["attributes"]
        if case["refused"] is not None:
            continue  # h() threw: nothing was made
        assert case["elements"] == 0, case  # the child text stayed text
        assert not any(name.startswith("on") for name in attributes), case
        if key in URL_KEYS or key == "style":
            assert key not in attributes, case
        elif key == "class":
            assert attributes == {"class": value}, case  # text in the attribute, inert
        else:
            assert attributes == {key: value}, case
    refused = [case for case in outcome["results"] if case["refused"] is not None]
    assert refused == [case for case in outcome["results"] if must_be_refused(case)]


def must_be_refused(case: dict) -> bool:
    """An on<event> given text, a style, or an element that runs or embeds code: h() throws."""
    key = case["key"].lower()
    return key.startswith("on") or key == "style" or case["tag"] in REFUSED_TAGS


def log_in_with(page: Page, url: str, key: str) -> None:
    page.goto(f"{url}/ui/")
    page.fill("#token", key)
    page.click("form.login button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()


def make_tenant_key(server, tenant: str, rights: list[str], **policy) -> str:
    operator = server.client()
    made = operator.post("/tenants", json={"name": tenant, **policy})
    assert made.status_code == 201, made.text
    answer = operator.post(f"/tenants/{tenant}/keys", json={"name": "ui", "rights": rights})
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


def test_a_tenant_sees_its_own_jobs_and_no_trace_of_anothers(lab, live_server, page):
    mine_key = make_tenant_key(
        live_server, "ui-mine", ["read", "run", "stop"], images=["qm/*"], max_memory=256
    )
    theirs_key = make_tenant_key(live_server, "ui-theirs", ["read", "run"])
    mine = live_server.client(mine_key).run_ok(image=lab.image, command="true", name="mine-job")
    theirs = live_server.client(theirs_key).run_ok(
        image=lab.image, command="true", name="theirs-secret-name"
    )
    log_in_with(page, live_server.url, mine_key)
    expect(page.locator("#who")).to_have_text("ui-mine / ui")
    expect(page.get_by_role("link", name="Tenants")).to_be_hidden()
    expect(page.get_by_role("link", name="Audit")).to_be_hidden()  # no `keys` right
    rows = page.locator("table.jobs tbody tr")
    expect(rows.first).to_have_attribute("data-id", mine)
    expect(page.locator(f'tr[data-id="{mine}"] .tenant')).to_have_text("tenant ui-mine")
    # Another tenant's job: in no row, no text, and its page is a job that does not exist.
    assert theirs not in page.content() and "theirs-secret-name" not in page.content()
    page.goto(f"{live_server.url}/ui/#/jobs/{theirs}")
    expect(page.locator(".error")).to_contain_text("no such job")
    assert "theirs-secret-name" not in page.content()
    # The Run form says what the tenant's policy allows.
    page.goto(f"{live_server.url}/ui/#/run")
    expect(page.locator(".policy-note")).to_contain_text("images: qm/*; memory at most 256 MB")
    memory = page.locator("#run-memory")
    expect(memory).to_have_attribute(
        "placeholder", re.compile(r"^MB \(default \d+, at most 256\)$")
    )


def test_the_operator_sees_who_it_is_the_tenants_and_the_audit(lab, live_server, page, artifacts):
    key = make_tenant_key(
        live_server, "ui-audited", ["read", "keys", "run"], max_cpus=2, quota={"jobs": 4}
    )
    assert live_server.client(key).get("/whoami").status_code == 200  # noted as its last use
    sleeper = live_server.client(key).run_ok(image=lab.image, command=["sleep", "60"], cpus=0.1)
    log_in(page, live_server.url)
    expect(page.locator("#who")).to_have_text("operator")
    page.get_by_role("link", name="Tenants").click()
    card = page.locator('section.tenant[data-name="ui-audited"]')
    expect(card).to_contain_text("Max CPUs")
    expect(card.locator('tr[data-key="ui"]')).to_contain_text("read, run, keys")
    # What its jobs hold against its quota: one live job of 4, a bar; no cap on memory, no bar.
    jobs = card.locator('table.usage tr[data-use="jobs"]')
    expect(jobs.locator("td").nth(1)).to_have_text("1")
    expect(jobs.locator("td").nth(2)).to_have_text("4")
    expect(jobs.locator("meter")).to_have_attribute("value", "1")
    expect(jobs.locator("meter")).to_have_attribute("max", "4")
    expect(card.locator('table.usage tr[data-use="memory"] meter')).to_have_count(0)
    expect(card.locator('tr[data-key="ui"] td').nth(4)).not_to_have_text("never")  # last used
    page.screenshot(path=artifacts / "tenants.png", full_page=True)
    live_server.client().stop(sleeper)
    page.get_by_role("link", name="Audit").click()
    created = page.locator('table.audit tr[data-action="tenant_created"]')
    expect(created.filter(has_text="ui-audited")).to_have_count(1)
    page.screenshot(path=artifacts / "audit.png", full_page=True)
    # A key with `keys` sees its tenant's trail too.
    page.click("#logout")
    log_in_with(page, live_server.url, key)
    page.get_by_role("link", name="Audit").click()
    expect(page.locator('table.audit tr[data-action="key_created"]')).to_have_count(1)


def make_template(server, token: str = TOKEN, **template) -> dict:
    """A template of the caller's, its jobs carrying the running test's label."""
    labels = {**this_test_labels(), **template.pop("labels", {})}
    made = server.client(token).post("/templates", json={**template, "labels": labels})
    assert made.status_code == 201, made.text
    return made.json()


def test_a_template_is_listed_and_dispatched_from_its_page(lab, live_server, page, artifacts):
    printing = "echo date=$QM_META_DATE region=$QM_META_REGION; cat /qm/payload"
    make_template(
        live_server,
        name="ui-report",
        image=lab.image,
        command=["sh", "-c", printing],
        parameters={"required": ["DATE"], "optional": ["REGION"]},
        payload="optional",
    )
    log_in(page, live_server.url)
    page.get_by_role("link", name="Templates").click()
    row = page.locator('table.templates tr[data-name="ui-report"]')
    expect(row.locator("td.image")).to_have_text(lab.image)
    expect(row.locator('td.parameters [data-kind="required"]')).to_have_text("required: DATE")
    expect(row.locator('td.parameters [data-kind="optional"]')).to_have_text("optional: REGION")
    expect(row.locator("td.payload")).to_have_text("optional")
    page.screenshot(path=artifacts / "templates.png", full_page=True)

    row.get_by_role("link", name="ui-report").click()
    expect(page).to_have_url(f"{live_server.url}/ui/#/templates/ui-report")
    expect(page.locator('.template-fields [data-field="payload"]')).to_contain_text("optional")
    expect(page.locator('.definition .spec [data-field="image"]')).to_have_text(lab.image)
    expect(page.locator('.definition .spec [data-field="command"] li')).to_have_count(3)
    expect(page.locator("#dispatch-meta-DATE")).to_have_attribute("required", "")
    expect(page.locator("#dispatch-meta-REGION")).not_to_have_attribute("required", "")
    page.fill("#dispatch-meta-DATE", "2026-12-01")
    page.fill("#dispatch-meta-REGION", "eu <west>")
    payload = {"name": "in.txt", "mimeType": "text/plain", "buffer": b"payload \xe2\x9c\x93 line\n"}
    page.set_input_files("#dispatch-payload", files=[payload])
    page.click("form.dispatch button[type=submit]")

    expect(page).to_have_url(re.compile(r"#/jobs/[a-z0-9]{25}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(shown_status(page)).to_have_text("complete", timeout=30_000)
    printed = "date=2026-12-01 region=eu <west>\npayload ✓ line\n"
    expect(page.locator("#log")).to_have_text(printed)
    # Through the API: the job ran to its end with its parameters as QM_META_<NAME>, and the
    # file as /qm/payload (the log holds what it printed of both).
    assert wait_final(live_server, job_id)["status"] == "complete"
    assert live_server.client().get(f"/logs/{job_id}").text == printed
    env = live_server.client().get(f"/history/{job_id}").json()["request"]["env"]
    assert {"QM_META_DATE", "QM_META_REGION"} <= set(env)

    # The job links back to its template, whose page lists it with its status, and leads to
    # the jobs page filtered on it.
    made_from = page.locator('[data-field="template"] a')
    expect(made_from).to_have_text("ui-report")
    expect(page.locator('[data-field="scheduled_for"]')).to_have_text(NOTHING)  # no schedule
    made_from.click()
    expect(page).to_have_url(f"{live_server.url}/ui/#/templates/ui-report")
    listed = page.locator(f'.template-jobs tr[data-id="{job_id}"]')
    expect(listed.locator(".status")).to_have_text("complete")
    expect(page.locator(".template-jobs tbody tr")).to_have_count(1)
    page.fill("#dispatch-meta-DATE", "2026-12-02")
    page.screenshot(path=artifacts / "template.png", full_page=True)
    page.get_by_role("link", name="All its jobs").click()
    expect(page).to_have_url(re.compile(r"#/jobs\?template=ui-report$"))
    expect(page.locator("#filter-template")).to_have_value("ui-report")
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", job_id)
    expect(rows.first.locator(".template a")).to_have_attribute("href", "#/templates/ui-report")


def test_the_dispatch_form_refuses_a_large_file_and_shows_the_servers_refusal(
    lab, live_server, page
):
    make_template(
        live_server,
        name="ui-strict",
        image=lab.image,
        command="true",
        parameters={"required": ["DATE"]},
        payload="optional",
    )
    dispatches = []
    page.on("request", lambda request: "/dispatch" in request.url and dispatches.append(request))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/templates/ui-strict")
    page.fill("#dispatch-meta-DATE", "2026-12-01")
    large = {"name": "large.bin", "mimeType": "application/octet-stream", "buffer": bytes(262_144)}
    page.set_input_files("#dispatch-payload", files=[large])
    page.click("form.dispatch button[type=submit]")
    expect(page.locator("#error-payload")).to_have_text(
        "large.bin is 262,144 bytes: a payload is at most 262,143 bytes (under 256 KiB)."
    )
    assert dispatches == []  # refused in the browser, never sent

    # The template changed since the form was made: the server's refusal, under its field.
    changed = live_server.client().request(
        "PATCH", "/templates/ui-strict", json={"parameters": {"required": ["DATE", "REGION"]}}
    )
    assert changed.status_code == 200, changed.text
    page.set_input_files("#dispatch-payload", files=[{**large, "buffer": b"small"}])
    page.click("form.dispatch button[type=submit]")
    expect(page.locator("#error-meta")).to_have_text("required by template ui-strict: REGION")
    expect(page.locator("#error-payload")).to_have_text("")
    expect(page.locator(".dispatching .error")).to_contain_text("invalid request: meta")
    assert len(dispatches) == 1 and page.url.endswith("#/templates/ui-strict")  # no job


def test_a_dispatch_overrides_the_templates_resources_and_adds_to_its_env(lab, live_server, page):
    make_template(
        live_server, name="ui-heavy", image=lab.image, command=["sh", "-c", "echo $A $B"],
        memory=64, env={"A": "template"},
    )  # fmt: skip
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/templates/ui-heavy")
    page.click("form.dispatch details.overrides summary")
    expect(page.locator("#dispatch-override-memory")).to_have_attribute("placeholder", "MB (64 MB)")
    expect(page.locator("#dispatch-override-completions")).to_have_count(0)  # not a `job`
    page.fill("#dispatch-override-memory", "48")
    page.fill("#dispatch-override-env", "B=override\nno equals sign")
    page.click("form.dispatch button[type=submit]")
    expect(page.locator("#error-overrides")).to_have_text("env: not KEY=value: no equals sign")
    page.fill("#dispatch-override-env", "B=override")
    page.click("form.dispatch button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/jobs/[a-z0-9]{25}$"))
    job_id = page.url.rsplit("/", 1)[1]
    assert wait_final(live_server, job_id)["status"] == "complete"
    assert live_server.client().get(f"/logs/{job_id}").text == "template override\n"
    request = live_server.client().get(f"/history/{job_id}").json()["request"]
    assert request["memory"] == 48 and set(request["env"]) == {"A", "B"}


def test_submitting_the_same_dispatch_form_twice_starts_one_job(lab, live_server, page):
    make_template(live_server, name="ui-once", image=lab.image, command="true")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/templates/ui-once")
    expect(page.locator("form.dispatch")).to_be_visible()
    page.evaluate(
        "() => { const form = document.querySelector('form.dispatch');"
        " form.requestSubmit(); form.requestSubmit(); }"
    )  # both before the first answer: the same Idempotency-Key
    expect(page).to_have_url(re.compile(r"#/jobs/[a-z0-9]{25}$"))

    def listed() -> list[str]:
        jobs = live_server.client().get("/jobs", params={"template": "ui-once"}).json()["jobs"]
        return [job["id"] for job in jobs]

    wait_until(listed, 30, "the job was never recorded")
    assert listed() == [page.url.rsplit("/", 1)[1]]


def test_a_templates_text_is_shown_as_text_and_never_run(lab, live_server, page):
    make_template(
        live_server,
        name="ui-markup",
        image=lab.image,
        command=[COMMAND_PAYLOAD, SCRIPT_PAYLOAD],
        labels={"note": SCRIPT_PAYLOAD + IMG_PAYLOAD},
        env={"<script>window.__xss++</script>": "1"},
    )
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/templates")
    row = page.locator('table.templates tr[data-name="ui-markup"]')
    expect(row.locator("td.parameters")).to_have_text("none")
    expect(row.locator("td.payload")).to_have_text("forbidden")
    row.get_by_role("link", name="ui-markup").click()
    command = page.locator('.definition .spec [data-field="command"] li')
    expect(command).to_have_text([COMMAND_PAYLOAD, SCRIPT_PAYLOAD])
    labels = page.locator('.definition .spec [data-field="labels"] li')
    expect(labels.filter(has_text="note=")).to_have_text(f"note={SCRIPT_PAYLOAD}{IMG_PAYLOAD}")
    expect(page.locator('.definition .spec [data-field="env"]')).to_contain_text(
        "<script>window.__xss++"
    )
    # No parameters and no payload: a form of its overrides and its button alone.
    expect(page.locator("form.dispatch > .field")).to_have_count(0)
    expect(page.locator("form.dispatch input:not(details input)")).to_have_count(0)
    assert page.locator("#main img, #main script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_a_tenants_key_sees_its_own_templates_and_dispatches_with_the_right_only(
    lab, live_server, page
):
    key = make_tenant_key(live_server, "ui-templates", ["read", "templates"])
    make_template(live_server, name="ui-operators", image=lab.image)  # not the tenant's
    log_in_with(page, live_server.url, key)
    page.get_by_role("link", name="Templates").click()
    expect(page.locator("table.templates tbody")).to_have_text(re.compile(r"^No templates\."))
    make_template(live_server, key, name="ui-tenants", image=lab.image)
    page.reload()
    expect(page.locator("table.templates tbody tr")).to_have_count(1)
    page.get_by_role("link", name="ui-tenants").click()
    expect(page.locator(".dispatching")).to_contain_text("takes the dispatch right")
    expect(page.locator("form.dispatch")).to_have_count(0)
    # The operator's template is one that does not exist, for the tenant's key.
    page.goto(f"{live_server.url}/ui/#/templates/ui-operators")
    expect(page.locator("#main .error")).to_contain_text("no such template")
    expect(page.locator(".definition")).to_have_count(0)


# -- schedules: in words, next ticks in both zones, pause, runs ---------------------------------

NEW_YORK = "America/New_York"
NIGHTLY = {"cron": "30 3 * * *", "timezone": NEW_YORK, "overlap": "allow"}  # not due in a test
EVERY_MINUTE = {"cron": "* * * * *", "timezone": NEW_YORK, "overlap": "allow"}


def zoned(tick: str, zone: str) -> str:
    """A tick (RFC 3339 in UTC) as the dashboard shows it on `zone`'s clock."""
    moment = datetime.fromisoformat(tick[:19] + "+00:00").astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M} {zone}"


def test_a_schedule_shows_in_words_with_its_next_ticks_in_both_zones_and_pauses(
    lab, live_server, tokyo_page
):
    page = tokyo_page
    made = make_template(
        live_server, name="ui-nightly", image=lab.image, command="true", schedule=NIGHTLY
    )
    make_template(live_server, name="ui-unscheduled", image=lab.image, command="true")
    schedule = made["schedule"]
    assert schedule["description"] == "At 03:30 every day (America/New_York)"
    runs_asked = []
    page.on("request", lambda request: "/runs" in request.url and runs_asked.append(request.url))
    log_in(page, live_server.url)
    page.get_by_role("link", name="Templates").click()
    # Its row: the schedule in words, its next tick on the browser's clock and New York's, and
    # its runs (none yet); a template without a schedule has a dash, and no call for its runs.
    row = page.locator('table.templates tr[data-name="ui-nightly"]')
    first = schedule["next"][0]
    expect(row.locator("td.schedule")).to_have_text(schedule["description"])
    expect(row.locator("td.next .in-browser")).to_have_text(zoned(first, BROWSER_ZONE))
    expect(row.locator("td.next .in-template")).to_have_text(zoned(first, NEW_YORK))
    expect(row.locator("td.last-runs")).to_have_text("none yet")
    unscheduled = page.locator('table.templates tr[data-name="ui-unscheduled"]')
    for cell in ("schedule", "next", "last-runs"):
        expect(unscheduled.locator(f"td.{cell}")).to_have_text(NOTHING)
    assert any("/templates/ui-nightly/runs?limit=3" in url for url in runs_asked)
    assert not [url for url in runs_asked if "/templates/ui-unscheduled/" in url]

    # Its page: every field of the schedule, its next 5 ticks in both zones, no runs yet.
    row.get_by_role("link", name="ui-nightly").click()
    fields = page.locator(".schedule-fields")
    expect(fields.locator('[data-field="cron"]')).to_have_text("30 3 * * *")
    expect(fields.locator('[data-field="in words"]')).to_have_text(schedule["description"])
    expect(fields.locator('[data-field="time zone"]')).to_have_text(NEW_YORK)
    expect(fields.locator('[data-field="overlap"]')).to_contain_text("allow: ")
    expect(fields.locator('[data-field="catch_up"]')).to_contain_text("0 s: ")
    expect(fields.locator('[data-field="paused"]')).to_have_text("no")
    ticks = page.locator(".next-ticks li")
    expect(ticks.locator(".in-browser")).to_have_text(
        [zoned(t, BROWSER_ZONE) for t in schedule["next"]]
    )
    expect(ticks.locator(".in-template")).to_have_text(
        [zoned(t, NEW_YORK) for t in schedule["next"]]
    )
    expect(page.locator(".template-runs tbody")).to_have_text("None yet.")

    # Paused: no next tick, "paused" by its words, here and in the table; then resumed.
    pause = page.locator("#schedule-pause")
    expect(pause).to_have_text("Pause")
    pause.click()
    expect(pause).to_have_text("Resume")
    expect(fields.locator('[data-field="paused"]')).to_have_text("yes: no tick fires")
    expect(fields.locator('[data-field="in words"] .paused')).to_have_text("paused")
    expect(page.locator(".next-ticks")).to_have_text("None while it is paused.")
    assert live_server.client().get("/templates/ui-nightly").json()["schedule"]["paused"] is True
    page.get_by_role("link", name="Templates").click()
    expect(row.locator("td.schedule .paused")).to_have_text("paused")
    expect(row.locator("td.next")).to_have_text(NOTHING)
    page.goto(f"{live_server.url}/ui/#/templates/ui-nightly")
    expect(pause).to_have_text("Resume")
    pause.click()
    expect(pause).to_have_text("Pause")
    expect(fields.locator('[data-field="paused"]')).to_have_text("no")
    resumed = live_server.client().get("/templates/ui-nightly").json()["schedule"]
    assert resumed["paused"] is False and len(resumed["next"]) == 5
    expect(ticks.locator(".in-template")).to_have_text(
        [zoned(t, NEW_YORK) for t in resumed["next"]]
    )


def test_a_key_without_the_templates_right_sees_a_schedule_and_no_pause(lab, live_server, page):
    reader = make_tenant_key(live_server, "ui-schedule-reader", ["read"])
    maker = live_server.client().post(
        "/tenants/ui-schedule-reader/keys", json={"name": "maker", "rights": ["templates"]}
    )
    assert maker.status_code == 201, maker.text
    make_template(
        live_server, maker.json()["key"], name="ui-watched", image=lab.image, schedule=NIGHTLY
    )
    log_in_with(page, live_server.url, reader)
    page.goto(f"{live_server.url}/ui/#/templates/ui-watched")
    expect(page.locator('.schedule-fields [data-field="cron"]')).to_have_text("30 3 * * *")
    expect(page.locator(".template-runs tbody")).to_have_text("None yet.")
    expect(page.locator("#schedule-pause")).to_be_hidden()


def newest_run(server, key: str, name: str) -> dict | None:
    runs = server.client(key).get(f"/templates/{name}/runs", params={"limit": 1}).json()["runs"]
    return runs[0] if runs else None


def test_a_tick_fires_a_job_shown_in_the_runs_whose_page_links_back(
    lab, live_server, tokyo_page, artifacts
):
    """One real tick (the server's scheduler, at the next minute): a template's job, and another
    template's tick its tenant's policy refuses (the image no longer allowed), with its reason."""
    page = tokyo_page
    key = make_tenant_key(
        live_server, "ui-ticks", ["read", "templates", "dispatch"], images=[lab.image, "qm/gone*"]
    )
    ticking = dict(image=lab.image, command="true", schedule=EVERY_MINUTE)
    make_template(live_server, key, name="ui-ticking", **ticking)
    make_template(live_server, key, name="ui-refused", **{**ticking, "image": "qm/gone:1"})
    narrowed = live_server.client().request(
        "PATCH", "/tenants/ui-ticks", json={"images": [lab.image]}
    )
    assert narrowed.status_code == 200, narrowed.text
    try:
        log_in_with(page, live_server.url, key)
        page.goto(f"{live_server.url}/ui/#/templates/ui-ticking")
        expect(page.locator(".template-runs")).to_be_visible()

        def both_ticked() -> bool:
            fired = newest_run(live_server, key, "ui-ticking")
            refused = newest_run(live_server, key, "ui-refused")
            return bool(fired and fired["status"] == "complete" and refused)

        wait_until(both_ticked, 100, "no tick fired within the minute")
        run = newest_run(live_server, key, "ui-ticking")
        assert (run["outcome"], run["reason"]) == ("fired", None), run
        # Its page's runs table (kept current, no reload): the tick in both zones, its job.
        row = page.locator(f'.template-runs tr[data-tick="{run["tick"]}"]')
        expect(row.locator(".outcome")).to_have_text("fired")
        expect(row.locator("td.tick")).to_have_text(zoned(run["tick"], BROWSER_ZONE))
        expect(row.locator("td.tick-zoned")).to_have_text(zoned(run["tick"], NEW_YORK))
        expect(row.locator("td.job a")).to_have_text(run["job_id"])
        expect(row.locator("td.job-status .status")).to_have_text("complete")
        expect(row.locator("td.reason")).to_have_text("")
        page.screenshot(path=artifacts / "template-scheduled.png", full_page=True)

        # The Templates page: each one's newest ticks, what happened, its job's status.
        page.get_by_role("link", name="Templates").click()
        listed = page.locator(f'tr[data-name="ui-ticking"] li[data-tick="{run["tick"]}"]')
        expect(listed.locator("a .outcome")).to_have_text("fired")
        expect(listed.locator("a")).to_have_attribute("href", f"#/jobs/{run['job_id']}")
        expect(listed.locator(".status")).to_have_text("complete")
        refused = newest_run(live_server, key, "ui-refused")
        assert (refused["outcome"], refused["job_id"]) == ("failed to start", None), refused
        failed = page.locator(f'tr[data-name="ui-refused"] li[data-tick="{refused["tick"]}"]')
        expect(failed.locator(".outcome")).to_have_text("failed to start")
        expect(failed.locator("a")).to_have_count(0)
        reason = f"{zoned(refused['tick'], NEW_YORK)}: {refused['reason']}"
        expect(failed).to_have_attribute("title", reason)
        page.screenshot(path=artifacts / "templates-scheduled.png", full_page=True)
        page.get_by_role("link", name="ui-refused").click()
        row = page.locator(f'.template-runs tr[data-tick="{refused["tick"]}"]')
        expect(row.locator("td.reason")).to_have_text(refused["reason"])
        expect(row.locator("td.job")).to_have_text(NOTHING)

        # The job's page names its template and its tick, and leads back to the template.
        page.goto(f"{live_server.url}/ui/#/templates/ui-ticking")
        page.locator(f'.template-runs tr[data-tick="{run["tick"]}"] td.job a').click()
        expect(page).to_have_url(f"{live_server.url}/ui/#/jobs/{run['job_id']}")
        expect(page.locator('[data-field="scheduled_for"]')).to_have_text(
            run["tick"][:19].replace("T", " ")
        )
        page.locator('[data-field="template"] a').click()
        expect(page).to_have_url(f"{live_server.url}/ui/#/templates/ui-ticking")
    finally:
        for name in ("ui-ticking", "ui-refused"):  # no more ticks for the module's server
            live_server.client(key).request("DELETE", f"/templates/{name}")


def test_the_runs_table_pages_with_more_and_shows_its_text_as_text(lab, live_server, page):
    """Paging and text on answers in the server's form given by the test (a template's ticks come
    one a minute: a browser test cannot wait for pages of them; the server's pages are
    unit-tested in tests/unit/test_schedule_firing.py), markup in a reason and in the words."""
    make_template(live_server, name="ui-paged", image=lab.image, command="true", schedule=NIGHTLY)
    newest = [
        {"tick": "2026-12-07T08:32:00.000000000Z", "outcome": "firing", "job_id": None,
         "status": None, "reason": None},
        {"tick": "2026-12-07T08:31:00.000000000Z", "outcome": "skipped", "job_id": None,
         "status": None, "reason": "overlap forbid: its job " + SCRIPT_PAYLOAD + " is live"},
    ]  # fmt: skip
    older = [
        {"tick": "2026-12-07T08:30:00.000000000Z", "outcome": "missed", "job_id": None,
         "status": None, "reason": IMG_PAYLOAD},
    ]  # fmt: skip
    asked = []

    def runs(route):
        query = parse_qs(urlparse(route.request.url).query)
        asked.append(query)
        page_asked = {"runs": older, "next_cursor": None} if "cursor" in query else None
        route.fulfill(json={"success": True, **(page_asked or {"runs": newest, "next_cursor": 7})})

    def template(route):
        answer = route.fetch()
        document = answer.json()
        document["schedule"]["description"] = f"At 03:30 {IMG_PAYLOAD} (America/New_York)"
        route.fulfill(response=answer, json=document)

    page.route(re.compile(r"/templates/ui-paged/runs\?"), runs)
    page.route(re.compile(r"/templates/ui-paged$"), template)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/ui/#/templates/ui-paged")
    rows = page.locator(".template-runs tbody tr")
    expect(rows).to_have_count(2)
    more = page.get_by_role("button", name="More")
    expect(more).to_be_enabled()
    more.click()
    expect(rows).to_have_count(3)
    expect(more).to_be_disabled()
    assert {"limit": ["20"], "cursor": ["7"]} in asked
    expect(rows.locator(".outcome")).to_have_text(["firing", "skipped", "missed"])
    expect(rows.locator("td.reason")).to_have_text(["", newest[1]["reason"], IMG_PAYLOAD])
    # The newest page asked again (kept current) keeps the older page under it: two requests on,
    # the first one's answer is shown (the poll asks again once a refresh ended).
    for _ in range(2):
        with page.expect_request(re.compile(r"/templates/ui-paged/runs\?limit=20$")):
            pass
    assert rows.count() == 3
    expect(page.locator('.schedule-fields [data-field="in words"]')).to_have_text(
        f"At 03:30 {IMG_PAYLOAD} (America/New_York)"
    )
    assert page.locator("#main img, #main script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
