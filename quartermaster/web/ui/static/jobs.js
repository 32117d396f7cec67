import { STATUSES, getJsonIfChanged } from "./api.js";
import { errorBox, h, headings, link, route, statusBadge, time } from "./dom.js";
import { poll } from "./poll.js";

const PAGE_SIZE = 50;
// A job's row's columns (jobRow).
export const JOB_COLUMNS = ["Name", "Status", "Image", "Created", "Finished", "Exit", "Error"];

// Every job, newest first, its status kept current; the filters live in the hash
// (#/jobs?status=failed&label=team%3Da&name=nightly&template=report, and the page size:
// &limit=20), so a filtered view can be shared.
export function jobsView(main, { params }) {
  const filters = {
    status: params.get("status") || "",
    label: params.get("label") || "",
    name: params.get("name") || "",
    template: params.get("template") || "",
  };
  const limit = params.get("limit") || PAGE_SIZE;
  const cursors = [null]; // the cursor of each page walked so far; the last is the current one
  const body = h("tbody");
  const feedback = h("div", { class: "feedback" });
  const previous = h("button", { type: "button", onclick: () => turn(-1) }, "Previous");
  const next = h("button", { type: "button", onclick: () => turn(+1) }, "Next");
  let nextCursor = null;
  let shown = null; // the page shown, {tag, body}: asked for again only if it changed

  main.append(
    h("h1", {}, "Jobs"),
    filterForm(filters, params.get("limit")),
    feedback,
    h("table", { class: "jobs" }, headings(JOB_COLUMNS), body),
    h("div", { class: "pager" }, previous, next),
  );

  async function refresh() {
    const cursor = cursors[cursors.length - 1];
    try {
      const params = { ...filters, limit, cursor };
      const answer = await getJsonIfChanged("/jobs", params, shown);
      if (cursor !== cursors[cursors.length - 1]) return; // the page was turned meanwhile
      if (answer !== shown) {
        shown = answer;
        const page = answer.body;
        nextCursor = page.next_cursor;
        body.replaceChildren(...page.jobs.map(jobRow));
        if (page.jobs.length === 0) {
          const none = h("td", { colspan: JOB_COLUMNS.length, class: "muted" }, "No jobs.");
          body.append(h("tr", {}, none));
        }
      }
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
    previous.disabled = cursors.length === 1;
    next.disabled = !nextCursor;
  }

  let stop = poll(refresh);

  function turn(step) {
    if (step > 0 && nextCursor) cursors.push(nextCursor);
    if (step < 0 && cursors.length > 1) cursors.pop();
    nextCursor = null; // until the new page says
    shown = null;
    next.disabled = previous.disabled = true;
    stop();
    stop = poll(refresh);
  }

  return () => stop();
}

// A job's row: its name (its id, tenant and template below), status, image, times, exit, error.
export function jobRow(job) {
  return h(
    "tr",
    { "data-id": job.id },
    h(
      "td",
      {},
      link(["jobs", job.id], job.name),
      h("div", { class: "muted id" }, job.id),
      job.tenant ? h("div", { class: "muted tenant" }, `tenant ${job.tenant}`) : null,
      job.template
        ? h("div", { class: "muted template" }, "template ", templateLink(job.template))
        : null,
    ),
    h(
      "td",
      {},
      statusBadge(job.status),
      job.queue_position ? h("span", { class: "muted queue-position" }, ` #${job.queue_position}`) : null,
    ),
    h("td", { class: "image" }, job.image),
    h("td", {}, time(job.created_at)),
    h("td", {}, time(job.finished_at)),
    h("td", {}, job.exit_code ?? "–"),
    h("td", { class: "error-text" }, job.error ?? ""),
  );
}

function templateLink(name) {
  return link(["templates", name], name);
}

function filterForm(filters, limit) {
  const status = h(
    "select",
    { id: "filter-status", name: "status" },
    h("option", { value: "" }, "any status"),
    STATUSES.map((name) => h("option", { value: name, selected: name === filters.status }, name)),
  );
  const label = h("input", {
    id: "filter-label",
    name: "label",
    placeholder: "key=value",
    value: filters.label,
  });
  const name = h("input", {
    id: "filter-name",
    name: "name",
    placeholder: "name prefix",
    value: filters.name,
  });
  const template = h("input", {
    id: "filter-template",
    name: "template",
    placeholder: "template name",
    value: filters.template,
  });
  const apply = (event) => {
    event.preventDefault();
    const chosen = {
      status: status.value,
      label: label.value.trim(),
      name: name.value.trim(),
      template: template.value.trim(),
      limit,
    };
    const kept = Object.fromEntries(Object.entries(chosen).filter(([, value]) => value));
    location.hash = route(["jobs"], kept);
  };
  status.addEventListener("change", apply);
  return h(
    "form",
    { class: "filters", onsubmit: apply },
    h("label", {}, "Status ", status),
    h("label", {}, "Label ", label),
    h("label", {}, "Name ", name),
    h("label", {}, "Template ", template),
    h("button", { type: "submit" }, "Filter"),
  );
}
