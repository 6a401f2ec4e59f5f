// A few DOM helpers: pages build their markup with h(), never with innerHTML (no injection).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

let ids = 0;
export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

// A label and its control, tied by id
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control,
    hint ? h("small", { class: "muted" }, hint) : null);
}

export function select(options, value, attributes = {}) {
  return h("select", attributes, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: v, selected: v === value }, text);
  }));
}

// A status line with its room kept, so that a message appearing moves nothing below it
export function status() {
  const line = h("p", { class: "status", role: "status", "aria-live": "polite" });
  line.show = (text, kind = "info") => {
    line.textContent = text || "";
    line.className = `status ${kind}`;
  };
  line.error = (error) => line.show(String(error), "error");
  return line;
}

export function bytes(n) {
  if (n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// A confirmation that asks for the name being deleted, as the AWS console does
export function confirmByName(what, name) {
  return new Promise((resolve) => {
    const input = h("input", { autocomplete: "off" });
    const ok = h("button", { type: "submit", class: "danger", value: "delete", disabled: true }, "Delete");
    input.addEventListener("input", () => { ok.disabled = input.value !== name; });
    const dialog = h("dialog", { "aria-labelledby": "confirm-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "confirm-title" }, `Delete ${what} ${name}?`),
        h("p", {}, "This cannot be undone. Type the name to confirm."),
        field(`Name of the ${what}`, input),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => dialog.close("cancel") }, "Cancel"), ok)));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "delete" && input.value === name); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
