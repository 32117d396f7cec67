// The dashboard: a single page, its views chosen by the hash (#/jobs, #/jobs/<id>, #/nodes,
// #/run). Every piece of data comes from the API, with the token typed in the login form.
import { UNAUTHORIZED, session } from "./api.js";
import { jobView } from "./job.js";
import { jobsView } from "./jobs.js";
import { loginView } from "./login.js";
import { nodesView } from "./nodes.js";
import { runView } from "./run.js";

const ROUTES = [
  [/^jobs$/, (main, match, params) => jobsView(main, { params })],
  [/^jobs\/([^/]+)$/, (main, match) => jobView(main, { id: decodeURIComponent(match[1]) })],
  [/^nodes$/, (main) => nodesView(main)],
  [/^run$/, (main) => runView(main)],
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

window.addEventListener("hashchange", () => show());
window.addEventListener(UNAUTHORIZED, (event) => show(`The token was refused (${event.detail}): log in again.`));
document.getElementById("logout").addEventListener("click", () => {
  session.logOut();
  show("Logged out.");
});
show();
