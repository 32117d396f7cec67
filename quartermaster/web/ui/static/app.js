// The dashboard: a single page, its views chosen by the hash (#/jobs, #/jobs/<id>, #/templates,
// #/templates/<name>, #/nodes, #/run, #/tenants, #/audit). Every piece of data comes from the
// API, with the token (the operator's, or a tenant's key) typed in the login form.
import { UNAUTHORIZED, getJson, session } from "./api.js";
import { errorBox, h } from "./dom.js";
import { auditView } from "./audit.js";
import { jobView } from "./job.js";
import { jobsView } from "./jobs.js";
import { loginView } from "./login.js";
import { nodesView } from "./nodes.js";
import { runView } from "./run.js";
import { templateView } from "./template.js";
import { templatesView } from "./templates.js";
import { tenantsView } from "./tenants.js";

const ROUTES = [
  [/^jobs$/, (main, match, params) => jobsView(main, { params })],
  [/^jobs\/([^/]+)$/, (main, match) => jobView(main, { id: decodeURIComponent(match[1]) })],
  [/^templates$/, (main) => templatesView(main)],
  [/^templates\/([^/]+)$/, (main, match) => templateView(main, { name: decodeURIComponent(match[1]) })],
  [/^nodes$/, (main) => nodesView(main)],
  [/^run$/, (main) => runView(main)],
  [/^tenants$/, (main) => tenantsView(main)],
  [/^audit$/, (main) => auditView(main)],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let leave = null; // ends what the current view runs (polls, a followed log)

function show(message) {
  if (leave) leave();
  leave = null;
  main.replaceChildren();
  nav.hidden = !session.token;
  if (!session.token) {
    loginView(main, { message, onLoggedIn: () => show() });
    return;
  }
  if (!session.identity) {
    whoIsIt();
    return;
  }
  showWho(session.identity);
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?", 2);
  const params = new URLSearchParams(query || "");
  for (const [pattern, view] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      leave = view(main, match, params) || null;
      return;
    }
  }
  location.replace("#/jobs");
}

// The token was taken, but who it is is not known yet (the store was out of reach at log in).
async function whoIsIt() {
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    session.identity = await getJson("/whoami");
    show();
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
}

// Who is logged in, and the pages the token may see.
function showWho(who) {
  document.getElementById("who").textContent = who.operator ? "operator" : `${who.tenant} / ${who.key}`;
  for (const link of nav.querySelectorAll("[data-needs]")) link.hidden = !session.may(link.dataset.needs);
}

window.addEventListener("hashchange", () => show());
window.addEventListener(UNAUTHORIZED, (event) => show(`The token was refused (${event.detail}): log in again.`));
document.getElementById("logout").addEventListener("click", () => {
  session.logOut();
  show("Logged out.");
});
show();
