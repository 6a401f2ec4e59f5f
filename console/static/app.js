// The shell: sign-in, theme, and a hash router (#/page/argument) that renders one page at a time.
import { session } from "./api.js";
import { h, replace } from "./dom.js";
import * as tables from "./pages/tables.js";
import * as items from "./pages/items.js";
import * as streams from "./pages/streams.js";
import * as kinesis from "./pages/kinesis.js";
import * as triggers from "./pages/triggers.js";
import * as charts from "./pages/charts.js";

const PAGES = { tables, items, streams, kinesis, triggers, charts, create: { render: tables.renderCreate } };
const main = document.getElementById("main");
let leave = null; // what the current page stops when another is shown (a live tail, a chart's timer)

async function route() {
  const [, name = "tables", ...rest] = location.hash.split("/");
  const page = PAGES[name] || tables;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const dialog of document.querySelectorAll("dialog[open]:not(#sign-in-dialog)")) dialog.close();
  if (leave) leave();
  leave = null;
  const view = h("section", { class: "page", "aria-labelledby": "page-title" });
  replace(main, view);
  leave = (await page.render(view, rest.map(decodeURIComponent))) || null;
  document.title = `${view.querySelector("h1")?.textContent || "Console"} · cdc-bridge`;
}

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme() {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === "dark"
    : matchMedia("(prefers-color-scheme: dark)").matches;
  const theme = dark ? "light" : "dark";
  localStorage.setItem("cdc-bridge-theme", theme);
  applyTheme(theme);
}

function showUser(user) {
  document.getElementById("user").textContent = user ? `Signed in as ${user.name}` : "";
  document.getElementById("sign-out").hidden = !user;
}

let signingIn = null; // the sign-in under way, if any: one dialog however many calls find the session gone

function signIn(reason = "") {
  if (signingIn) return signingIn;
  const dialog = document.getElementById("sign-in-dialog");
  const form = document.getElementById("sign-in");
  const error = document.getElementById("sign-in-error");
  error.textContent = reason;
  dialog.showModal();
  signingIn = new Promise((resolve) => {
    async function submit(event) {
      event.preventDefault();
      try {
        const answer = await session("POST", Object.fromEntries(new FormData(form)));
        form.removeEventListener("submit", submit);
        form.reset();
        error.textContent = "";
        dialog.close();
        signingIn = null;
        resolve(answer.user);
      } catch (e) {
        error.textContent = String(e); // a wrong key, expired credentials, or too many attempts (Retry-After)
      }
    }
    form.addEventListener("submit", submit);
  });
  return signingIn;
}

async function start() {
  applyTheme(localStorage.getItem("cdc-bridge-theme"));
  document.getElementById("theme").addEventListener("click", toggleTheme);
  document.getElementById("sign-out").addEventListener("click", async () => {
    await session("DELETE");
    location.reload();
  });
  // nothing works signed out: the dialog cannot be dismissed
  document.getElementById("sign-in-dialog").addEventListener("cancel", (event) => event.preventDefault());
  let state = await session();
  if (state.signInRequired && !state.user) state = { ...state, user: await signIn() };
  showUser(state.user);
  if (state.signInRequired) {
    window.addEventListener("session-ended", async () => {
      if (signingIn) return;
      showUser(null);
      showUser(await signIn("Your session has ended (signed out, or its temporary credentials expired): sign in again."));
      await route();
    });
  }
  window.addEventListener("hashchange", route);
  await route();
}

start();
