import { ApiError } from "./api.js";
import { errorBox, h } from "./dom.js";

// A server's refusal of a form (/run's, a dispatch's): each field's messages under its input
// (`messages`: the field's name → its message element), the rest, and the error, in `feedback`.
export function showRefusal(error, messages, feedback) {
  const unplaced = [];
  for (const [name, detail] of Object.entries((error instanceof ApiError && error.fields) || {})) {
    if (messages[name]) messages[name].textContent = flatten(detail).join("; ");
    else unplaced.push(`${name}: ${flatten(detail).join("; ")}`);
  }
  feedback.replaceChildren(errorBox(error), unplaced.length ? h("p", {}, unplaced.join("\n")) : null);
}

// A field's messages: a list, or (for a dictionary) messages nested by key.
function flatten(detail) {
  if (Array.isArray(detail)) return detail.flatMap(flatten);
  if (detail && typeof detail === "object") {
    return Object.entries(detail).flatMap(([key, inner]) => flatten(inner).map((m) => `${key}: ${m}`));
  }
  return [String(detail)];
}

// A field the browser refuses before sending (the message goes under its input).
export class FormError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// Into `body`: each of `names` typed in its input (empty ones left out), as a number where the
// browser reads one, else as typed, for the server to refuse with its own message.
export function addNumbers(body, inputs, names) {
  for (const name of names) {
    const text = inputs[name].value.trim();
    if (text) body[name] = Number.isFinite(Number(text)) ? Number(text) : text;
  }
}

// Into `body`: each of `names` (a textarea of KEY=value lines) as an object, if it has any.
export function addKeyValues(body, inputs, names) {
  for (const name of names) {
    const pairs = keyValueLines(name, inputs[name].value);
    if (Object.keys(pairs).length) body[name] = pairs;
  }
}

function keyValueLines(field, text) {
  const pairs = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new FormError(field, `not KEY=value: ${line}`);
    pairs[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return pairs;
}
