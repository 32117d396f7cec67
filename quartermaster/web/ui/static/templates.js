import { getJson } from "./api.js";
import { errorBox, h, headings, link } from "./dom.js";
import { poll } from "./poll.js";

// The caller's templates (its tenant's, or the operator's own), by name: each one's image, its
// parameters and whether a dispatch gives its job a file; its name leads to its page.
export function templatesView(main) {
  const body = h("tbody");
  const feedback = h("div", { class: "feedback" });
  main.append(
    h("h1", {}, "Templates"),
    feedback,
    h("table", { class: "templates" }, headings(["Name", "Image", "Parameters", "Payload"]), body),
  );

  async function refresh() {
    try {
      const { templates } = await getJson("/templates");
      body.replaceChildren(...templates.map(templateRow));
      if (templates.length === 0) {
        body.append(
          h(
            "tr",
            {},
            h(
              "td",
              { colspan: 4, class: "muted" },
              "No templates. Make one with POST /templates or qm templates create (docs/templates.md).",
            ),
          ),
        );
      }
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(errorBox(error));
    }
  }

  return poll(refresh);
}

function templateRow(template) {
  return h(
    "tr",
    { "data-name": template.name },
    h("td", {}, link(["templates", template.name], template.name)),
    h("td", { class: "image" }, template.request.image),
    h("td", { class: "parameters" }, parameterList(template.parameters)),
    h("td", { class: "payload" }, template.payload),
  );
}

// The parameters a dispatch gives: the required ones, then the optional ones, or "none".
export function parameterList(parameters) {
  const { required, optional } = parameters;
  if (required.length === 0 && optional.length === 0) return h("span", { class: "muted" }, "none");
  return h(
    "ul",
    { class: "plain" },
    required.length ? h("li", { "data-kind": "required" }, `required: ${required.join(", ")}`) : null,
    optional.length ? h("li", { "data-kind": "optional" }, `optional: ${optional.join(", ")}`) : null,
  );
}
