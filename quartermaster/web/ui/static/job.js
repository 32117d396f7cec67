import { ApiError, FINAL_STATUSES, getJson, postJson, streamText } from "./api.js";
import { errorBox, h, link, statusBadge, time } from "./dom.js";
import { poll } from "./poll.js";
import { specList } from "./spec.js";

// The template a job was made from (null for a /run's) links to the template's page;
// scheduled_for is the tick of its schedule it ran for.
const STATUS_FIELDS = [
  "id", "name", "image", "template", "scheduled_for", "type", "status", "queue_position", "state",
  "exit_code", "error", "node", "created_at", "started_at", "finished_at", "completions",
  "succeeded", "failed", "attempts",
];

const POLL_MS = 1000; // a job's page asks more often than the table: a short run shows "started"
// Once the job ended, its timeline is asked again (for up to this many polls) until the record
// has the end too: the reaper records each change every REAPER_INTERVAL.
const FINAL_POLLS = 30;
// A log followed for hours keeps only its newest text on the page (the server keeps 1 MiB).
const LOG_MAX_CHARS = 2_000_000;

// One job: its status document kept current, its timeline and spec (from its history), its log
// followed while it runs, and a Stop button.
export function jobView(main, { id }) {
  const title = h("h1", {}, id);
  const stopButton = h("button", { type: "button", class: "danger", onclick: stopJob }, "Stop");
  const feedback = h("div", { class: "feedback" });
  const statusList = h("dl", { class: "fields status-document" });
  const timelineBody = h("tbody");
  const spec = h("div", { class: "spec" });
  const timestamps = h("input", { type: "checkbox", id: "log-timestamps" });
  const log = h("pre", { class: "log", id: "log" });
  const logState = h("span", { class: "muted", id: "log-state" });
  main.append(
    h("div", { class: "title" }, title, stopButton),
    feedback,
    h("section", { class: "card" }, h("h2", {}, "Status"), statusList),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Timeline"),
      h(
        "table",
        { class: "timeline" },
        h("thead", {}, h("tr", {}, ["At", "Status", "State", "Detail"].map((t) => h("th", {}, t)))),
        timelineBody,
      ),
    ),
    h("section", { class: "card" }, h("h2", {}, "Spec"), spec),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Log ", logState),
      h("label", { class: "option" }, timestamps, " timestamps"),
      log,
    ),
  );

  let current = null; // the last status document
  let recorded = null; // the status of the timeline's last step: the reaper records each change
  let finalPolls = 0; // polls since the job ended, waiting for its record to catch up
  let logReader = null; // aborts the log being read
  let stopPolling = null;

  async function refresh() {
    try {
      const job = await getJson(`/status/${encodeURIComponent(id)}`);
      current = job;
      showStatus(job);
      if (recorded !== job.status) await refreshHistory();
      if (!logReader) readLog();
      if (!FINAL_STATUSES.has(job.status)) return true;
      finalPolls += 1;
      return recorded !== job.status && finalPolls < FINAL_POLLS; // until the record has its end
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
      if (error instanceof ApiError && error.status === 404) return false;
    }
  }

  function showStatus(job) {
    title.replaceChildren(job.name, " ", statusBadge(job.status));
    stopButton.disabled = FINAL_STATUSES.has(job.status);
    statusList.replaceChildren(
      ...STATUS_FIELDS.flatMap((name) => [
        h("dt", {}, name),
        h("dd", { "data-field": name }, display(name, job[name])),
      ]),
    );
    feedback.replaceChildren();
  }

  async function refreshHistory() {
    try {
      const history = await getJson(`/history/${encodeURIComponent(id)}`);
      timelineBody.replaceChildren(
        ...history.timeline.map((entry) =>
          h(
            "tr",
            {},
            h("td", {}, time(entry.at)),
            h("td", {}, statusBadge(entry.status)),
            h("td", {}, entry.state),
            h("td", {}, entry.detail ?? ""),
          ),
        ),
      );
      spec.replaceChildren(specList(history.request));
      recorded = history.timeline.length ? history.timeline[history.timeline.length - 1].status : null;
    } catch (error) {
      const none = error instanceof ApiError && error.status === 404;
      spec.replaceChildren(none ? h("p", { class: "muted" }, "No record of this job.") : errorBox(error));
    }
  }

  // The whole log of a job that ended; the log followed as it prints while it runs.
  function readLog() {
    const follow = !FINAL_STATUSES.has(current.status);
    const controller = new AbortController();
    logReader = controller;
    log.replaceChildren();
    logState.textContent = follow ? "(following)" : "";
    const params = { follow: follow ? "true" : "", timestamps: timestamps.checked ? "true" : "" };
    let shown = 0; // characters in the log's text nodes
    streamText(`/logs/${encodeURIComponent(id)}`, params, (text) => {
      log.append(document.createTextNode(text));
      shown += text.length;
      while (shown > LOG_MAX_CHARS && log.firstChild) {
        shown -= log.firstChild.textContent.length;
        log.firstChild.remove();
      }
      log.scrollTop = log.scrollHeight;
    }, controller.signal)
      .then(() => {
        if (logReader === controller) logState.textContent = follow ? "(ended)" : "";
      })
      .catch((error) => {
        if (controller.signal.aborted) return;
        logState.textContent = "";
        log.append(document.createTextNode(`[could not read the log: ${error.message}]\n`));
      });
  }

  timestamps.addEventListener("change", () => {
    if (!current) return;
    logReader?.abort();
    readLog();
  });

  async function stopJob() {
    const name = current ? current.name : id;
    if (!window.confirm(`Stop job ${name}?`)) return;
    stopButton.disabled = true;
    try {
      await postJson("/stop", { id: current ? current.id : id });
      stopPolling();
      stopPolling = poll(refresh, POLL_MS);
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
      stopButton.disabled = false;
    }
  }

  stopPolling = poll(refresh, POLL_MS);
  return () => {
    stopPolling();
    logReader?.abort();
  };
}

function display(name, value) {
  if (value === null || value === undefined) return "–";
  if (name === "template") return link(["templates", value], value);
  if (name.endsWith("_at") || name === "scheduled_for") return time(value);
  return String(value);
}
