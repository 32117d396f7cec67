import { getJson } from "./api.js";
import { errorBox, h, headings, link } from "./dom.js";
import { poll } from "./poll.js";
import { BROWSER_ZONE, bothZones, scheduleWords, tickOutcome, zonedTime } from "./schedule.js";

const COLUMNS = ["Name", "Image", "Parameters", "Payload", "Schedule", "Next", "Last runs"];
// A scheduled template's newest ticks in its row (one /runs call each per refresh).
const LAST_RUNS = 3;
// Slower than the jobs table: a refresh asks for each scheduled template's runs, and a tick
// comes at most once a minute.
const REFRESH_MS = 5000;

// The caller's templates (its tenant's, or the operator's own), by name: each one's image, its
// parameters, whether a dispatch gives its job a file, and its schedule: in words, its next tick
// (on the browser's clock and the template's zone's) and its newest ticks with their jobs'
// status; its name leads to its page.
export function templatesView(main) {
  const body = h("tbody");
  const feedback = h("div", { class: "feedback" });
  main.append(
    h("h1", {}, "Templates"),
    feedback,
    h("table", { class: "templates" }, headings(COLUMNS), body),
  );

  async function refresh() {
    try {
      const { templates } = await getJson("/templates");
      const runs = await Promise.all(templates.map(lastRuns));
      body.replaceChildren(...templates.map((template, at) => templateRow(template, runs[at])));
      if (templates.length === 0) {
        body.append(
          h(
            "tr",
            {},
            h(
              "td",
              { colspan: COLUMNS.length, class: "muted" },
              "No templates. Make one with POST /templates or qm templates create (docs/templates.md).",
            ),
          ),
        );
      }
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  return poll(refresh, REFRESH_MS);
}

// A scheduled template's newest ticks (null without a schedule: no call), or the error that
// kept them (shown in its row alone).
async function lastRuns(template) {
  if (!template.schedule) return null;
  try {
    const path = `/templates/${encodeURIComponent(template.name)}/runs`;
    return (await getJson(path, { limit: LAST_RUNS })).runs;
  } catch (error) {
    return error;
  }
}

function templateRow(template, runs) {
  const { schedule } = template;
  return h(
    "tr",
    { "data-name": template.name },
    h("td", {}, link(["templates", template.name], template.name)),
    h("td", { class: "image" }, template.request.image),
    h("td", { class: "parameters" }, parameterList(template.parameters)),
    h("td", { class: "payload" }, template.payload),
    h("td", { class: "schedule" }, scheduleWords(schedule)),
    h("td", { class: "next" }, nextTick(schedule)),
    h("td", { class: "last-runs" }, runs === null ? "–" : runList(runs, schedule)),
  );
}

// A tick's line's tooltip: the tick in the template's zone, and why (skipped, missed, not started).
function runTitle(run, schedule) {
  const when = zonedTime(run.tick, schedule.timezone);
  return run.reason ? `${when}: ${run.reason}` : when;
}

// Its next tick in both zones; a dash without a schedule, or while it is paused.
function nextTick(schedule) {
  return schedule && schedule.next.length ? bothZones(schedule.next[0], schedule.timezone) : "–";
}

// Its newest ticks, newest first: when (on the browser's clock), what happened, its job's status.
function runList(runs, schedule) {
  if (runs instanceof Error) return errorBox(runs);
  if (runs.length === 0) return h("span", { class: "muted" }, "none yet");
  return h(
    "ul",
    { class: "plain" },
    runs.map((run) =>
      h(
        "li",
        { "data-tick": run.tick, title: runTitle(run, schedule) },
        h("span", { class: "muted" }, zonedTime(run.tick, BROWSER_ZONE), " "),
        tickOutcome(run),
      ),
    ),
  );
}

// The parameters a dispatch gives: the required ones, then the optional ones, or "none".
export function parameterList(parameters) {
  const { required, optional } = parameters;
  if (required.length === 0 && optional.length === 0) return h("span", { class: "muted" }, "none");
  return h(
    "ul",
    { class: "plain" },
    required.length ? h("li", { "data-kind": "required" }, `required: ${required.join(", ")}`) : null,
    optional.length ? h("li", { "data-kind": "optional" }, `optional: ${optional.join(", ")}`) : null,
  );
}
