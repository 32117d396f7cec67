import { h } from "./dom.js";

// A job's request as the record keeps it (/history's `request`, a template's `request`): each
// field, objects as key=value lines, env names alone when the record keeps no values.
export function specList(request) {
  const list = h("dl", { class: "fields" });
  for (const [name, value] of Object.entries(request || {})) {
    list.append(h("dt", {}, name), h("dd", { "data-field": name }, specValue(value)));
  }
  return list;
}

function specValue(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "object" && Object.keys(value).length === 0) return "–";
  if (Array.isArray(value)) {
    return h("ul", { class: "plain" }, value.map((item) => h("li", {}, specText(item))));
  }
  if (typeof value === "object") {
    return h(
      "ul",
      { class: "plain" },
      // env without its values (the record keeps names only): the name alone
      Object.entries(value).map(([key, item]) =>
        h("li", {}, item === null ? key : `${key}=${specText(item)}`),
      ),
    );
  }
  return String(value);
}

function specText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}
