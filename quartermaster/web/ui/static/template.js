import { getJson, getJsonIfChanged, newIdempotencyKey, postJson, session } from "./api.js";
import { errorBox, h, headings, link, route, time } from "./dom.js";
import { showRefusal } from "./forms.js";
import { JOB_COLUMNS, jobRow } from "./jobs.js";
import { poll } from "./poll.js";
import { specList } from "./spec.js";
import { parameterList } from "./templates.js";

// A dispatch's payload travels as base64 in the JSON body, at most 4 × (256 KiB ÷ 3) characters
// (the server's limit): a file of at most this many bytes.
const MAX_PAYLOAD_BYTES = 3 * Math.floor((256 * 1024) / 3);
// Its newest jobs on its page; the jobs page, filtered on the template, has them all.
const NEWEST_JOBS = 10;
const PAYLOAD_MODES = {
  optional: "optional: a file the job reads as /qm/payload, if the dispatch gives one",
  required: "required: each dispatch gives a file, the job's /qm/payload",
  forbidden: "forbidden: a dispatch gives no file",
};

// One template: its definition (its job's fields as a job's record shows them, never its
// registry credentials, which no answer holds), a form that dispatches it, and its newest jobs
// (kept current). Each part is a section of its own.
export function templateView(main, { name }) {
  const title = h("h1", {}, name);
  const definition = h("section", { class: "card definition" }, h("h2", {}, "Definition"));
  const dispatching = h("section", { class: "card dispatching" }, h("h2", {}, "Dispatch"));
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
      content.replaceChildren(definition, dispatching, jobs.section);
    } catch (error) {
      jobs.stop();
      content.replaceChildren(errorBox(error));
    }
  }

  return () => jobs.stop();
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
  const messages = {
    meta: h("div", { class: "field-error", id: "error-meta" }),
    payload: h("div", { class: "field-error", id: "error-payload" }),
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
      showRefusal(error, messages, feedback);
    } finally {
      submit.disabled = false;
    }
  }

  return form;
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
