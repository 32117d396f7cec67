import { getJson, newIdempotencyKey, postJson, session } from "./api.js";
import { h, route } from "./dom.js";
import { addKeyValues, addNumbers, showRefusal } from "./forms.js";

// The Run form: starts a job and opens its page. One Idempotency-Key per filled-in form: a
// second submit of the same form (a double click, a retry after a lost answer) starts no
// second job; any change to the form makes a new key.
export function runView(main) {
  const inputs = {
    image: h("input", { name: "image", required: true, placeholder: "qm/busybox:latest" }),
    command: h("input", { name: "command", placeholder: "sh -c 'echo hello'" }),
    name: h("input", { name: "name", placeholder: "optional" }),
    memory: h("input", { name: "memory", inputmode: "numeric", placeholder: "MB" }),
    cpus: h("input", { name: "cpus", inputmode: "decimal", placeholder: "e.g. 0.5" }),
    timeout: h("input", { name: "timeout", inputmode: "numeric", placeholder: "seconds" }),
    env: h("textarea", { name: "env", rows: 3, placeholder: "NAME=value, one a line" }),
    labels: h("textarea", { name: "labels", rows: 3, placeholder: "key=value, one a line" }),
  };
  const messages = Object.fromEntries(
    Object.keys(inputs).map((name) => [name, h("div", { class: "field-error", id: `error-${name}` })]),
  );
  const feedback = h("div", { class: "feedback" });
  const submit = h("button", { type: "submit" }, "Run");
  let key = newIdempotencyKey();

  const form = h(
    "form",
    { class: "card run", onsubmit: start, oninput: () => (key = newIdempotencyKey()) },
    Object.entries(inputs).map(([name, input]) => {
      input.id = `run-${name}`;
      return h("div", { class: "field" }, h("label", { for: input.id }, name), input, messages[name]);
    }),
    submit,
    feedback,
  );
  main.append(h("h1", {}, "Run a job"), policyNote(session.identity), form);
  inputs.image.focus();
  limitToPolicy(inputs, session.identity);
  showDefaultMemory(inputs.memory, session.identity);

  async function start(event) {
    event.preventDefault();
    for (const message of Object.values(messages)) message.replaceChildren();
    feedback.replaceChildren();
    let body;
    try {
      body = requestBody(inputs);
    } catch (error) {
      messages[error.field].textContent = error.message;
      return;
    }
    submit.disabled = true;
    try {
      const { id } = await postJson("/run", body, { "Idempotency-Key": key });
      location.hash = route(["jobs", id]);
    } catch (error) {
      showRefusal(error, messages, feedback);
    } finally {
      submit.disabled = false;
    }
  }
}

// The memory a job left without one runs with is the server's setting (MEMORY): its API
// document says it. Asked once a page load; without an answer the field says only "MB".
let defaultMemory = null;

async function showDefaultMemory(input, who) {
  const most = who && who.policy && who.policy.max_memory;
  try {
    defaultMemory ??= getJson("/openapi.json").then(
      (document) => document.components.schemas.RunRequest.properties.memory.default,
    );
    const memory = await defaultMemory;
    if (Number.isInteger(memory)) {
      input.placeholder = most ? `MB (default ${memory}, at most ${most})` : `MB (default ${memory})`;
    }
  } catch {
    defaultMemory = null; // asked again next time
  }
}

// The /run body from the form; empty fields are left out.
function requestBody(inputs) {
  const body = { image: inputs.image.value.trim() };
  const text = (name) => inputs[name].value.trim();
  if (text("command")) body.command = text("command");
  if (text("name")) body.name = text("name");
  addNumbers(body, inputs, ["memory", "cpus", "timeout"]);
  addKeyValues(body, inputs, ["env", "labels"]);
  return body;
}

// What a tenant's policy allows its jobs, said above the form (the server refuses the rest).
function policyNote(who) {
  const policy = who && who.policy;
  if (!policy) return null;
  const parts = [`images: ${policy.images.length ? policy.images.join(", ") : "any"}`];
  if (policy.max_memory !== null) parts.push(`memory at most ${policy.max_memory} MB`);
  if (policy.max_cpus !== null) parts.push(`cpus required, at most ${policy.max_cpus}`);
  if (policy.max_timeout !== null) parts.push(`timeout at most ${policy.max_timeout} s (the default)`);
  if (policy.constraints.length) parts.push(`placed by ${policy.constraints.join(", ")}`);
  return h("p", { class: "card policy-note" }, `Tenant ${who.tenant}'s policy: ${parts.join("; ")}.`);
}

// The fields' bounds and hints from the policy, so the browser says so before the server does.
function limitToPolicy(inputs, who) {
  const policy = who && who.policy;
  if (!policy) return;
  if (policy.images.length) inputs.image.placeholder = policy.images[0];
  if (policy.max_memory !== null) inputs.memory.placeholder = `MB (at most ${policy.max_memory})`;
  if (policy.max_cpus !== null) {
    inputs.cpus.required = true;
    inputs.cpus.placeholder = `at most ${policy.max_cpus}`;
  }
  if (policy.max_timeout !== null) inputs.timeout.placeholder = `seconds (at most ${policy.max_timeout})`;
}
