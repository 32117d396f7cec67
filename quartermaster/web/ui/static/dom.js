// Building the page from data: every piece of text goes in as a text node, never as markup.
// (Names, labels, images, errors and log lines come from jobs: attacker-controlled text.)

// Elements that run or embed code or documents: never made here.
const REFUSED_TAGS = new Set(["script", "iframe", "frame", "object", "embed"]);
// Attributes the browser follows or loads as a URL: one of the javascript scheme is code to run.
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "xlink:href", "poster", "data"]);

// An element: `props` sets attributes (`class`, any attribute; `on<event>` adds a listener),
// `children` are nodes or text (null, undefined and false are left out). Attribute names are
// the code's, values may be data: an `on<event>` takes only a function (text there would be an
// inline handler, in any case of its letters), a URL attribute only an http(s) URL (relative
// ones and `#/...` included), and `style` is refused (the policy refuses inline style too).
export function h(tag, props = {}, ...children) {
  if (REFUSED_TAGS.has(String(tag).toLowerCase())) throw new TypeError(`h(): no ${tag} here`);
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    const name = key.toLowerCase();
    if (name.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`h(): ${key} takes a function`);
      node.addEventListener(name.slice(2), value);
    } else if (name === "style") {
      throw new TypeError("h(): no inline style");
    } else if (key === "class") {
      node.className = value;
    } else if (URL_ATTRIBUTES.has(name) && !isWebUrl(String(value))) {
      continue; // left out: the element is still shown, and leads nowhere
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

// Whether a URL, read as the browser reads it against this page, is http or https.
function isWebUrl(text) {
  try {
    return ["http:", "https:"].includes(new URL(text, document.baseURI).protocol);
  } catch {
    return false;
  }
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// A link inside the app: `#/jobs/<id>`, each part of the path encoded.
export function link(parts, text, params) {
  return h("a", { href: route(parts, params) }, text);
}

export function route(parts, params) {
  const path = "#/" + parts.map(encodeURIComponent).join("/");
  const query = params ? new URLSearchParams(params).toString() : "";
  return query ? `${path}?${query}` : path;
}

// RFC 3339 as "2026-11-27 09:50:08" (UTC), or a dash.
export function time(value) {
  if (!value) return "–";
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(value);
  return match ? `${match[1]} ${match[2]}` : value;
}

export function statusBadge(status) {
  return h("span", { class: `status status-${/^[a-z]+$/.test(status) ? status : "other"}` }, status);
}

export function errorBox(error) {
  const requestId = error && error.requestId ? ` (request ${error.requestId})` : "";
  return h("p", { class: "error", role: "alert" }, `${error.message || error}${requestId}`);
}

// A table's head: a column heading for each title.
export function headings(titles) {
  return h("thead", {}, h("tr", {}, titles.map((title) => h("th", { scope: "col" }, title))));
}
