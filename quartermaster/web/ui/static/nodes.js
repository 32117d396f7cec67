import { getJson } from "./api.js";
import { errorBox, h, time } from "./dom.js";
import { poll } from "./poll.js";

// Every node: what it has, what jobs reserve on it and what is left, as bars; and when the
// swarm showed that (a reading is kept for a reaper round).
export function nodesView(main) {
  const list = h("div", { class: "nodes" });
  const feedback = h("div", { class: "feedback" });
  const asOf = h("p", { class: "muted as-of" });
  main.append(h("h1", {}, "Nodes"), feedback, asOf, list);

  async function refresh() {
    try {
      const { nodes, as_of: shownAt } = await getJson("/nodes");
      asOf.replaceChildren(`As the swarm showed them at ${time(shownAt)} UTC`);
      list.replaceChildren(...nodes.map(nodeCard));
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  return poll(refresh);
}

function nodeCard(node) {
  return h(
    "section",
    { class: "card node", "data-id": node.id, "data-hostname": node.hostname },
    h("h2", {}, node.hostname),
    h(
      "p",
      { class: "muted" },
      `${node.role} · ${node.state} · ${node.availability} · `,
      h("span", { class: "running" }, `${node.running_jobs} running`),
    ),
    h("p", { class: "muted id" }, node.id),
    bar("Memory", node.reserved_memory_mb, node.memory_mb, node.free_memory_mb, "MB"),
    bar("CPU", node.reserved_cpus, node.cpus, node.free_cpus, "CPUs"),
  );
}

function bar(title, reserved, capacity, free, unit) {
  const number = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
  return h(
    "div",
    { class: "resource" },
    h("span", { class: "resource-name" }, title),
    h("meter", {
      min: 0,
      max: capacity || 1,
      value: reserved,
      title: `${number(reserved)} of ${number(capacity)} ${unit} reserved`,
    }),
    h(
      "span",
      { class: "resource-figures" },
      `${number(reserved)} / ${number(capacity)} ${unit} reserved, ${number(free)} free`,
    ),
  );
}
