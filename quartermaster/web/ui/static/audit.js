import { getJson } from "./api.js";
import { errorBox, h, headings, time } from "./dom.js";
import { poll } from "./poll.js";

// The audit trail, newest first: the operator's every entry, a key with `keys` its tenant's.
export function auditView(main) {
  const body = h("tbody");
  const feedback = h("div", { class: "feedback" });
  main.append(
    h("h1", {}, "Audit"),
    feedback,
    h(
      "table",
      { class: "audit" },
      headings(["At", "Actor", "Action", "Target", "Code", "Client"]),
      body,
    ),
  );

  async function refresh() {
    try {
      const { entries } = await getJson("/audit", { limit: 100 });
      const none = h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No entries."));
      body.replaceChildren(...(entries.length ? entries.map(entryRow) : [none]));
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  return poll(refresh);
}

function entryRow(entry) {
  return h(
    "tr",
    { "data-action": entry.action },
    h("td", {}, time(entry.at)),
    h("td", {}, entry.actor),
    h("td", {}, entry.action),
    h("td", { class: "id" }, entry.target ?? "–"),
    h("td", {}, String(entry.code)),
    h("td", {}, entry.client ?? "–"),
  );
}
