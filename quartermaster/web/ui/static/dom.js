// Building the page from data: every piece of text goes in as a text node, never as markup.
// (Names, labels, images, errors and log lines come from jobs: attacker-controlled text.)

// An element: `props` sets attributes (`class`, any attribute; `on<event>` adds a listener),
// `children` are nodes or text (null, undefined and false are left out).
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
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
