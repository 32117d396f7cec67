import { getJson } from "./api.js";
import { errorBox, h, headings, time } from "./dom.js";
import { poll } from "./poll.js";

// The operator's page of tenants: each one's policy, what its jobs hold against its quota (a bar
// each), and its keys with their rights and last use.
export function tenantsView(main) {
  const list = h("div", { class: "tenants" });
  const feedback = h("div", { class: "feedback" });
  main.append(h("h1", {}, "Tenants"), feedback, list);

  async function refresh() {
    try {
      const { tenants } = await getJson("/tenants");
      const keys = await Promise.all(
        tenants.map((tenant) => getJson(`/tenants/${encodeURIComponent(tenant.name)}/keys`)),
      );
      const cards = tenants.map((tenant, at) => tenantCard(tenant, keys[at].keys));
      list.replaceChildren(...(cards.length ? cards : [h("p", { class: "muted" }, "No tenants.")]));
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  return poll(refresh);
}

function tenantCard(tenant, keys) {
  const ceiling = (value, unit) => (value === null || value === undefined ? "none" : `${value}${unit}`);
  return h(
    "section",
    { class: "card tenant", "data-name": tenant.name },
    h("h2", {}, tenant.name),
    h(
      "dl",
      { class: "policy" },
      h("dt", {}, "Images"),
      h("dd", {}, tenant.images.length ? tenant.images.join(", ") : "any"),
      h("dt", {}, "Constraints"),
      h("dd", {}, tenant.constraints.length ? tenant.constraints.join(", ") : "none"),
      h("dt", {}, "Max memory"),
      h("dd", {}, ceiling(tenant.max_memory, " MB")),
      h("dt", {}, "Max CPUs"),
      h("dd", {}, ceiling(tenant.max_cpus, "")),
      h("dt", {}, "Max timeout"),
      h("dd", {}, ceiling(tenant.max_timeout, " s")),
      h("dt", {}, "Weight"),
      h("dd", {}, String(tenant.weight)),
    ),
    usageTable(tenant),
    h(
      "table",
      { class: "keys" },
      headings(["Key", "Rights", "Created", "Expires", "Last used"]),
      h(
        "tbody",
        {},
        keys.length
          ? keys.map((key) =>
              h(
                "tr",
                { "data-key": key.name },
                h("td", {}, key.name),
                h("td", {}, key.rights.join(", ")),
                h("td", {}, time(key.created_at)),
                h("td", {}, key.expires_at ? time(key.expires_at) : "never"),
                h("td", {}, key.last_used_at ? time(key.last_used_at) : "never"),
              ),
            )
          : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No keys.")),
      ),
    ),
  );
}

// What the tenant's jobs hold now against its quota: a row a cap, with a bar where one is set.
function usageTable(tenant) {
  const quota = tenant.quota || {};
  const used = tenant.in_use || {};
  const rows = [
    ["memory", "Memory", used.memory, quota.memory, " MB"],
    ["cpus", "CPUs", used.cpus, quota.cpus, ""],
    ["jobs", "Live jobs", used.jobs, quota.jobs, ""],
    ["queued", "Queued", used.queued, quota.queued, ""],
  ];
  return h(
    "table",
    { class: "usage" },
    headings(["In use", "Now", "Quota", ""]),
    h(
      "tbody",
      {},
      rows.map(([field, label, value, cap, unit]) => {
        const now = value ?? 0;
        const hasCap = cap !== null && cap !== undefined;
        return h(
          "tr",
          { "data-use": field },
          h("td", {}, label),
          h("td", {}, `${now}${unit}`),
          h("td", {}, hasCap ? `${cap}${unit}` : "none"),
          h(
            "td",
            {},
            hasCap
              ? h("meter", { min: 0, max: cap, value: Math.min(now, cap), high: cap * 0.9 }, `${now} of ${cap}`)
              : "",
          ),
        );
      }),
    ),
  );
}
