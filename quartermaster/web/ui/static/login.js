import { ApiError, getJson, session } from "./api.js";
import { errorBox, h } from "./dom.js";

// The login form: the token is checked with one call to the API, then kept for this tab.
export function loginView(main, { message, onLoggedIn }) {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const feedback = h("div", { class: "feedback" }, message ? errorBox(message) : null);
  const form = h(
    "form",
    { class: "card login", onsubmit: submit },
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
      await getJson("/jobs", { limit: 1 });
    } catch (error) {
      // Refused: the app shows this form again, with the server's message.
      if (error instanceof ApiError && error.status === 401) return;
      // Any other failure (the record store out of reach...) still means the token was taken.
    }
    onLoggedIn();
  }
}
