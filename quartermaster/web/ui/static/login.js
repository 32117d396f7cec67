import { ApiError, getJson, session } from "./api.js";
import { errorBox, h } from "./dom.js";

// The login form: the token (the operator's, or a tenant's key) is checked with one call to the
// API (/whoami, which says who it is), then kept for this tab. The token is no password to
// keep: it opens jobs for as long as it is set. Hidden as it is typed, but not offered to password managers to save or to fill in.
export function loginView(main, { message, onLoggedIn }) {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    // What each password manager reads as "not a login": 1Password, LastPass, Bitwarden, Dashlane.
    "data-1p-ignore": true,
    "data-lpignore": "true",
    "data-bwignore": true,
    "data-form-type": "other",
  });
  const feedback = h("div", { class: "feedback" }, message ? errorBox(message) : null);
  const form = h(
    "form",
    { class: "card login", autocomplete: "off", onsubmit: submit },
    h("h1", {}, "Log in"),
    h("label", { for: "token" }, "Token"),
    input,
    h("button", { type: "submit" }, "Log in"),
    feedback,
  );
  main.append(form);
  input.focus();

  async function submit(event) {
    event.preventDefault();
    feedback.replaceChildren();
    session.logIn(input.value.trim());
    input.value = "";
    try {
      session.identity = await getJson("/whoami");
    } catch (error) {
      // Refused: the app shows this form again, with the server's message.
      if (error instanceof ApiError && error.status === 401) return;
      // Any other failure (the record store out of reach...): the app asks again.
    }
    onLoggedIn();
  }
}
