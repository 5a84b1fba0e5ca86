// Switchyard's dashboard pages share this: the admin key (kept in this tab's sessionStorage only and
// sent in the Authorization header, never in a URL), the admin API's fetches, DOM and SVG helpers,
// and the log-in / log-out wiring. All text goes in through textContent.
"use strict";

const KEY_STORE = "switchyard.adminKey";
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f6fde", "#e07b39", "#2e8b57", "#c2362b", "#8a5cd0", "#1aa3a3", "#c98a0b", "#d0528f", "#5b6b82"];
const $ = (id) => document.getElementById(id);

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function setState(state) {
  document.body.dataset.state = state;
}

function setStatus(text) {
  $("status").textContent = text;
}

async function api(path, key) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + key }, cache: "no-store" });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) {
      // The body was not JSON: the status line says enough.
    }
    throw new HttpError(response.status, message);
  }
  return response.json();
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== "") node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== "") node.textContent = text;
  return node;
}

function label(value) {
  return value === "" ? "(none)" : value;
}

function fillTable(id, items, cells, attrs, empty = "No data in this period.") {
  const body = $(id).querySelector("tbody");
  body.replaceChildren();
  if (items.length === 0) {
    const row = el("tr");
    row.append(el("td", { colspan: $(id).querySelectorAll("th").length, class: "empty" }, empty));
    body.append(row);
    return;
  }
  for (const item of items) {
    const row = el("tr", attrs(item));
    for (const cell of cells(item)) row.append(cell);
    body.append(row);
  }
}

function td(text, numeric = false) {
  return el("td", numeric ? { class: "num" } : {}, text);
}

// Shows why a page's data could not be loaded; a refused key is forgotten.
function showFailure(error, what) {
  setStatus("");
  if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
    sessionStorage.removeItem(KEY_STORE);
    $("login-error").textContent = `The admin key was refused (${error.status}): ${error.message}`;
  } else {
    $("login-error").textContent = `Could not load ${what}: ${error.message}`;
  }
  setState("error");
}

// Wires the log-in form, Log out and Refresh to a page's load() and clear(), then loads it.
function startPage(load, clear) {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("admin-key").value.trim();
    $("admin-key").value = "";
    $("login-error").textContent = "";
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    load();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORE);
    clear();
    setStatus("");
    setState("login");
  });
  $("refresh").addEventListener("click", load);
  load();
}
