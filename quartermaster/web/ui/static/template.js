import { getJson, getJsonIfChanged, newIdempotencyKey, patchJson, postJson, session } from "./api.js";
import { errorBox, h, headings, link, route, statusBadge, time } from "./dom.js";
import { addKeyValues, addNumbers, FormError, showRefusal } from "./forms.js";
import { JOB_COLUMNS, jobRow } from "./jobs.js";
import { poll } from "./poll.js";
import {
  BROWSER_ZONE,
  bothZones,
  instant,
  jobLink,
  outcomeText,
  scheduleWords,
  zonedTime,
} from "./schedule.js";
import { specList } from "./spec.js";
import { parameterList } from "./templates.js";

// A dispatch's payload travels as base64 in the JSON body, at most 4 × (256 KiB ÷ 3) characters
// (the server's limit): a file of at most this many bytes.
const MAX_PAYLOAD_BYTES = 3 * Math.floor((256 * 1024) / 3);
// Its newest jobs on its page; the jobs page, filtered on the template, has them all.
const NEWEST_JOBS = 10;
// Its ticks on its page, a page at a time (More: the page before).
const RUNS_PAGE = 20;
const RUN_COLUMNS = ["Tick", "In its zone", "Outcome", "Job", "Status", "Reason"];
const OVERLAPS = {
  allow: "allow: a tick starts a job even while one of its jobs is live",
  forbid: "forbid: a tick is skipped while one of its jobs is live",
  replace: "replace: a tick stops its live jobs and starts a new one",
};
const PAYLOAD_MODES = {
  optional: "optional: a file the job reads as /qm/payload, if the dispatch gives one",
  required: "required: each dispatch gives a file, the job's /qm/payload",
  forbidden: "forbidden: a dispatch gives no file",
};

// One template: its definition (its job's fields as a job's record shows them, never its
// registry credentials, which no answer holds), its schedule (paused and resumed here), a form
// that dispatches it, its schedule's ticks and its newest jobs (both kept current). Each part is
// a section of its own.
export function templateView(main, { name }) {
  const title = h("h1", {}, name);
  const definition = h("section", { class: "card definition" }, h("h2", {}, "Definition"));
  const dispatching = h("section", { class: "card dispatching" }, h("h2", {}, "Dispatch"));
  const schedule = scheduleSection(name);
  const runs = tickRuns(name, schedule);
  const jobs = newestJobs(name);
  // Filled when the document comes (never `main` itself: the view may have been left by then).
  const content = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(title, content);
  load();

  async function load() {
    try {
      const template = await getJson(`/templates/${encodeURIComponent(name)}`);
      definition.append(
        definitionList(template),
        h("h3", {}, "Its job"),
        h("div", { class: "spec" }, specList(template.request)),
      );
      dispatching.append(
        session.may("dispatch")
          ? dispatchForm(template)
          : h("p", { class: "muted" }, "Dispatching takes the dispatch right, which this key has not."),
      );
      schedule.show(template);
      const sections = [definition, schedule.section, dispatching];
      if (template.schedule) sections.push(runs.section);
      content.replaceChildren(...sections, jobs.section);
      if (template.schedule) runs.start();
    } catch (error) {
      jobs.stop();
      content.replaceChildren(errorBox(error));
    }
  }

  return () => {
    jobs.stop();
    runs.stop();
  };
}

// Its schedule: the cron, in words, the zone it reads the clock of, what a tick does while a job
// of it is live, how late a missed tick may still start, whether it is paused, and its next
// ticks in both zones; Pause (or Resume) for a key with the `templates` right. `show` shows a
// template document's; `template` is the one shown.
function scheduleSection(name) {
  const feedback = h("div", { class: "feedback" });
  const pause = h("button", { type: "button", id: "schedule-pause", onclick: toggle, hidden: true });
  const content = h("div", {});
  const section = h(
    "section",
    { class: "card schedule" },
    h("div", { class: "title" }, h("h2", {}, "Schedule"), pause),
    feedback,
    content,
  );
  const shown = { section, show, template: null };

  function show(template) {
    shown.template = template;
    const { schedule } = template;
    pause.hidden = !schedule || !session.may("templates");
    if (!schedule) {
      content.replaceChildren(h("p", { class: "muted" }, "None: it runs when dispatched."));
      return;
    }
    pause.textContent = schedule.paused ? "Resume" : "Pause";
    const rows = [
      ["cron", schedule.cron],
      ["in words", scheduleWords(schedule)],
      ["time zone", schedule.timezone],
      ["overlap", OVERLAPS[schedule.overlap] ?? schedule.overlap],
      ["catch_up", `${schedule.catch_up} s: how late the newest missed tick may still start`],
      ["paused", schedule.paused ? "yes: no tick fires" : "no"],
    ];
    content.replaceChildren(
      h(
        "dl",
        { class: "fields schedule-fields" },
        rows.map(([label, value]) => [h("dt", {}, label), h("dd", { "data-field": label }, value)]),
      ),
      h("h3", {}, "Next ticks"),
      schedule.next.length
        ? h(
            "ol",
            { class: "plain next-ticks" },
            schedule.next.map((tick) => h("li", { "data-tick": tick }, bothZones(tick, schedule.timezone))),
          )
        : h("p", { class: "muted next-ticks" }, "None while it is paused."),
    );
  }

  async function toggle() {
    const paused = !shown.template.schedule.paused;
    pause.disabled = true;
    feedback.replaceChildren();
    try {
      show(await patchJson(`/templates/${encodeURIComponent(name)}`, { schedule: { paused } }));
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    } finally {
      pause.disabled = false;
    }
  }

  return shown;
}

// Its schedule's ticks, newest first: when (on the browser's clock and the template's zone's),
// what happened, the job it started and its status now, why (skipped, missed, failed to start).
// The newest page kept current; More adds the page before (by next_cursor). Once the next tick
// shown is past, the schedule is asked again (its next ticks move on). `start` starts the poll,
// `stop` ends it.
function tickRuns(name, schedule) {
  const path = `/templates/${encodeURIComponent(name)}/runs`;
  const body = h("tbody");
  const feedback = h("div", { class: "feedback" });
  const more = h("button", { type: "button", class: "more", onclick: loadMore, disabled: true }, "More");
  const section = h(
    "section",
    { class: "card template-runs" },
    h("h2", {}, "Runs"),
    feedback,
    h("table", { class: "runs" }, headings(RUN_COLUMNS), body),
    h("div", { class: "pager" }, more),
  );
  let runs = []; // newest first: the newest page, then each page More added
  let older = null; // next_cursor of the oldest page shown
  let paged = false; // whether More added pages (kept under the newest page when it changes)
  let stopped = false;
  let stopPoll = () => {};

  async function refresh() {
    try {
      await refreshSchedule();
      const page = await getJson(path, { limit: RUNS_PAGE });
      if (paged) {
        const oldest = page.runs.length ? page.runs[page.runs.length - 1].tick : null;
        runs = [...page.runs, ...runs.filter((run) => oldest === null || run.tick < oldest)];
      } else {
        runs = page.runs;
        older = page.next_cursor;
      }
      render();
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  async function refreshSchedule() {
    const next = schedule.template.schedule && schedule.template.schedule.next[0];
    if (next && instant(next) <= Date.now()) {
      schedule.show(await getJson(`/templates/${encodeURIComponent(name)}`));
    }
  }

  async function loadMore() {
    more.disabled = true;
    try {
      const page = await getJson(path, { limit: RUNS_PAGE, cursor: older });
      runs = [...runs, ...page.runs];
      older = page.next_cursor;
      paged = true;
      render();
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
    more.disabled = older === null;
  }

  function render() {
    const zone = schedule.template.schedule ? schedule.template.schedule.timezone : BROWSER_ZONE;
    const rows = runs.map((run) => runRow(run, zone));
    const none = h("td", { colspan: RUN_COLUMNS.length, class: "muted" }, "None yet.");
    body.replaceChildren(...(rows.length ? rows : [h("tr", {}, none)]));
    more.disabled = older === null;
  }

  return {
    section,
    start() {
      if (!stopped) stopPoll = poll(refresh);
    },
    stop() {
      stopped = true;
      stopPoll();
    },
  };
}

function runRow(run, zone) {
  return h(
    "tr",
    { "data-tick": run.tick },
    h("td", { class: "tick" }, zonedTime(run.tick, BROWSER_ZONE)),
    h("td", { class: "tick-zoned" }, zonedTime(run.tick, zone)),
    h("td", {}, outcomeText(run.outcome)),
    h("td", { class: "job" }, jobLink(run.job_id)),
    h("td", { class: "job-status" }, run.status ? statusBadge(run.status) : "–"),
    h("td", { class: "reason" }, run.reason ?? ""),
  );
}

// The template's newest jobs, their status kept current (with the page's ETag, as the jobs
// page's), and a link to them all. `stop` ends the poll.
function newestJobs(name) {
  const body = h("tbody");
  const feedback = h("div", { class: "feedback" });
  const all = link(["jobs"], "All its jobs", { template: name });
  const section = h(
    "section",
    { class: "card template-jobs" },
    h("div", { class: "title" }, h("h2", {}, "Jobs"), all),
    feedback,
    h("table", { class: "jobs" }, headings(JOB_COLUMNS), body),
  );
  let shown = null; // {tag, body}: asked for again only if it changed

  async function refresh() {
    try {
      const answer = await getJsonIfChanged("/jobs", { template: name, limit: NEWEST_JOBS }, shown);
      if (answer !== shown) {
        shown = answer;
        const rows = answer.body.jobs.map(jobRow);
        const none = h("td", { colspan: JOB_COLUMNS.length, class: "muted" }, "None yet.");
        body.replaceChildren(...(rows.length ? rows : [h("tr", {}, none)]));
      }
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  return { section, stop: poll(refresh) };
}

// The template's own fields: what a dispatch gives, and when it was made and changed.
function definitionList(template) {
  const rows = [
    ["parameters", parameterList(template.parameters)],
    ["payload", PAYLOAD_MODES[template.payload] ?? template.payload],
    ["registry credentials", template.auth_kept ? "kept, sealed (never shown)" : "none"],
    ["created", time(template.created_at)],
    ["changed", time(template.updated_at)],
  ];
  return h(
    "dl",
    { class: "fields template-fields" },
    rows.map(([label, value]) => [h("dt", {}, label), h("dd", { "data-field": label }, value)]),
  );
}

// The Dispatch form: an input a parameter (the required ones marked, and required), a file
// when the template takes a payload; it dispatches and opens the job's page. One
// Idempotency-Key per filled-in form, as the Run form's.
function dispatchForm(template) {
  const { required, optional } = template.parameters;
  const inputs = Object.fromEntries(
    [...required, ...optional].map((parameter) => [
      parameter,
      h("input", {
        id: `dispatch-meta-${parameter}`,
        name: parameter,
        required: required.includes(parameter),
        placeholder: required.includes(parameter) ? null : "optional",
        autocomplete: "off",
      }),
    ]),
  );
  const file =
    template.payload === "forbidden"
      ? null
      : h("input", {
          type: "file",
          id: "dispatch-payload",
          name: "payload",
          required: template.payload === "required",
        });
  const overrides = overrideInputs(template.request || {});
  const messages = {
    meta: h("div", { class: "field-error", id: "error-meta" }),
    payload: h("div", { class: "field-error", id: "error-payload" }),
    overrides: h("div", { class: "field-error", id: "error-overrides" }),
  };
  const feedback = h("div", { class: "feedback" });
  const submit = h("button", { type: "submit" }, "Dispatch");
  let key = newIdempotencyKey();

  const form = h(
    "form",
    { class: "dispatch", onsubmit: dispatch, oninput: () => (key = newIdempotencyKey()) },
    Object.entries(inputs).map(([parameter, input]) =>
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: input.id },
          parameter,
          input.required ? h("span", { class: "required-mark" }, " (required)") : null,
          h("span", { class: "muted" }, ` QM_META_${parameter}`),
        ),
        input,
      ),
    ),
    messages.meta,
    file
      ? h(
          "div",
          { class: "field" },
          h(
            "label",
            { for: file.id },
            "payload",
            file.required ? h("span", { class: "required-mark" }, " (required)") : null,
            h("span", { class: "muted" }, " a file, at most 256 KiB: the job's /qm/payload"),
          ),
          file,
          messages.payload,
        )
      : null,
    h(
      "details",
      { class: "overrides" },
      h("summary", {}, "Overrides for this dispatch"),
      Object.entries(overrides).map(([name, input]) =>
        h("div", { class: "field" }, h("label", { for: input.id }, name), input),
      ),
      messages.overrides,
    ),
    submit,
    feedback,
  );

  async function dispatch(event) {
    event.preventDefault();
    for (const message of Object.values(messages)) message.replaceChildren();
    feedback.replaceChildren();
    submit.disabled = true;
    try {
      const body = { meta: meta(inputs) };
      const changed = overridesGiven(overrides);
      if (Object.keys(changed).length) body.overrides = changed;
      const chosen = file && file.files[0];
      if (chosen) {
        if (chosen.size > MAX_PAYLOAD_BYTES) {
          messages.payload.textContent =
            `${chosen.name} is ${chosen.size.toLocaleString("en")} bytes: a payload is at most ` +
            `${MAX_PAYLOAD_BYTES.toLocaleString("en")} bytes (under 256 KiB).`;
          return;
        }
        body.payload = base64(new Uint8Array(await chosen.arrayBuffer()));
      }
      const path = `/templates/${encodeURIComponent(template.name)}/dispatch`;
      const { id } = await postJson(path, body, { "Idempotency-Key": key });
      location.hash = route(["jobs", id]);
    } catch (error) {
      if (error instanceof FormError) messages.overrides.textContent = `${error.field}: ${error.message}`;
      else showRefusal(error, messages, feedback);
    } finally {
      submit.disabled = false;
    }
  }

  return form;
}

// The overrides filled in (a FormError for a line that is not KEY=value).
function overridesGiven(overrides) {
  const given = {};
  const { env, labels, ...numbers } = overrides;
  addNumbers(given, numbers, Object.keys(numbers));
  addKeyValues(given, { env, labels }, ["env", "labels"]);
  return given;
}

// What a dispatch may change of the template's job, each input saying the template's own value
// (an empty one keeps it); env and labels given are laid over the template's.
function overrideInputs(request) {
  const own = (value, unit) => (value === null || value === undefined ? "the template's" : `${value}${unit}`);
  const inputs = {
    memory: h("input", { inputmode: "numeric", placeholder: `MB (${own(request.memory, " MB")})` }),
    cpus: h("input", { inputmode: "decimal", placeholder: own(request.cpus, "") }),
    timeout: h("input", { inputmode: "numeric", placeholder: `seconds (${own(request.timeout, " s")})` }),
  };
  if (request.type === "job") {
    inputs.completions = h("input", { inputmode: "numeric", placeholder: own(request.completions, "") });
  }
  inputs.env = h("textarea", { rows: 2, placeholder: "NAME=value, one a line: added to the template's" });
  inputs.labels = h("textarea", { rows: 2, placeholder: "key=value, one a line: added to the template's" });
  for (const [name, input] of Object.entries(inputs)) {
    input.id = `dispatch-override-${name}`;
    input.name = name;
  }
  return inputs;
}

// Each parameter's value as typed; an optional one left empty is not given.
function meta(inputs) {
  const values = {};
  for (const [parameter, input] of Object.entries(inputs)) {
    if (input.required || input.value !== "") values[parameter] = input.value;
  }
  return values;
}

// Standard base64 of the bytes (btoa takes a string of bytes, built in slices: an argument
// list of 256 Ki characters is over some engines' limit).
function base64(bytes) {
  let text = "";
  for (let at = 0; at < bytes.length; at += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  }
  return btoa(text);
}
