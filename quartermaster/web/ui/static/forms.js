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
