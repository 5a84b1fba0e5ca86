// Switchyard's cost dashboard: reads the ledger through the admin API with the master key and
// draws it as figures, tables and SVG charts (common.js holds the key, fetches and helpers).
"use strict";

const OTHER_COLOR = "#a0a7b4";
const MAX_SERIES = 8;
const DAY_MS = 86400000;

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function period() {
  const days = Number($("days").value) || 7;
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const list = [];
  for (let k = days - 1; k >= 0; k -= 1) list.push(isoDay(today - k * DAY_MS));
  return { start: list[0], end: list[list.length - 1], days: list };
}

function usd(value) {
  if (!value) return "$0.00";
  if (Math.abs(value) >= 1) return "$" + value.toFixed(2);
  return "$" + value.toPrecision(4);
}

function axisUsd(value) {
  return value ? "$" + Number(value.toPrecision(2)).toString() : "$0";
}

// Sums report rows per value of the dimension, biggest cost first.
function totals(rows) {
  const byValue = new Map();
  for (const row of rows) {
    const t = byValue.get(row.value) || { value: row.value, requests: 0, errors: 0, cache_hits: 0, failovers: 0, spend: 0, saved_usd: 0 };
    t.requests += row.requests;
    t.errors += row.errors;
    t.cache_hits += row.cache_hits;
    t.failovers += row.failovers;
    t.spend += row.spend;
    t.saved_usd += row.saved_usd;
    byValue.set(row.value, t);
  }
  return [...byValue.values()].sort((a, b) => b.spend - a.spend || b.requests - a.requests || a.value.localeCompare(b.value));
}

function setFigure(id, value, kind) {
  const node = $(id);
  if (kind === "usd") {
    node.dataset.usd = String(value);
    node.textContent = usd(value);
  } else {
    node.dataset.count = String(value);
    node.textContent = String(value);
  }
}

function barCell(parts, whole) {
  const cell = el("td");
  const bar = el("div", { class: "bar" });
  for (const [value, cls] of parts) {
    const fill = el("div", { class: "fill " + cls });
    fill.style.width = `${whole > 0 ? Math.min(100, (100 * value) / whole) : 0}%`;
    bar.append(fill);
  }
  cell.append(bar);
  return cell;
}

// Draws cost per day as stacked bars, one colour per value (the biggest ones; the rest as "other").
function stackedChart(container, rows, days, field) {
  container.replaceChildren();
  const ranked = totals(rows).filter((t) => t[field] > 0);
  const shown = ranked.slice(0, MAX_SERIES).map((t) => t.value);
  const series = [...shown];
  if (ranked.length > MAX_SERIES) series.push("\u0000other");
  const color = (name) => (name === "\u0000other" ? OTHER_COLOR : PALETTE[series.indexOf(name) % PALETTE.length]);
  const perDay = new Map(days.map((d) => [d, new Map()]));
  for (const row of rows) {
    const day = perDay.get(row.day);
    if (!day) continue;
    const name = shown.includes(row.value) ? row.value : "\u0000other";
    day.set(name, (day.get(name) || 0) + row[field]);
  }
  const width = 720, height = 220, left = 84, bottom = 24, top = 8;
  const max = Math.max(0, ...[...perDay.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  chart.append(svg("title", {}, container.dataset.title || "per day"));
  const plotH = height - bottom - top;
  const scale = max > 0 ? plotH / max : 0;
  for (let k = 0; k <= 4; k += 1) {
    const y = top + plotH - (plotH * k) / 4;
    chart.append(svg("line", { class: "grid", x1: left, x2: width, y1: y, y2: y }));
    chart.append(svg("text", { class: "axis", x: left - 6, y: y + 3, "text-anchor": "end" }, axisUsd((max * k) / 4)));
  }
  const slot = (width - left) / days.length;
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  days.forEach((day, k) => {
    const x = left + k * slot + (slot - barW) / 2;
    let y = top + plotH;
    for (const name of series) {
      const value = perDay.get(day).get(name) || 0;
      if (value <= 0) continue;
      const h = Math.max(1, value * scale);
      y -= h;
      const rect = svg("rect", { x, y, width: barW, height: h, fill: color(name), "data-day": day, "data-value": name, "data-usd": value });
      rect.append(svg("title", {}, `${day} · ${name === "\u0000other" ? "other" : label(name)}: ${usd(value)}`));
      chart.append(rect);
    }
    if (days.length <= 10 || k % Math.ceil(days.length / 10) === 0) {
      chart.append(svg("text", { class: "axis", x: left + k * slot + slot / 2, y: height - 6, "text-anchor": "middle" }, day.slice(5)));
    }
  });
  container.append(chart);
  const legend = el("ul", { class: "legend" });
  for (const name of series) {
    const item = el("li");
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = color(name);
    item.append(swatch, document.createTextNode(name === "\u0000other" ? "other" : label(name)));
    legend.append(item);
  }
  if (series.length === 0) legend.append(el("li", { class: "empty" }, "Nothing spent in this period."));
  container.append(legend);
}

function renderGroup(group, rows, days) {
  stackedChart($(`chart-${group}`), rows, days, "spend");
  fillTable(
    `table-${group}`,
    totals(rows),
    (t) => [td(label(t.value)), td(String(t.requests), true), td(String(t.errors), true), td(usd(t.spend), true)],
    (t) => ({ "data-value": t.value, "data-usd": t.spend, "data-requests": t.requests, "data-errors": t.errors }),
  );
}

function renderBudgets(budgets) {
  fillTable(
    "table-budgets",
    budgets,
    (b) => {
      const cap = b.hard_usd || b.soft_usd || 0;
      const used = b.spent_usd + b.reserved_usd;
      const level = b.hard_usd && used >= b.hard_usd ? "over" : cap && used >= 0.8 * cap ? "warn" : "";
      const cell = barCell([[used, level]], cap);
      if (b.soft_usd && b.hard_usd) {
        const mark = el("div", { class: "soft" });
        mark.style.left = `${Math.min(100, (100 * b.soft_usd) / b.hard_usd)}%`;
        cell.firstChild.append(mark);
      }
      return [
        td(b.scope), td(b.id || "(none)"), td(b.window || "all time"), td(usd(b.spent_usd), true),
        td(usd(b.reserved_usd), true), td(b.soft_usd ? usd(b.soft_usd) : "–", true), td(b.hard_usd ? usd(b.hard_usd) : "–", true), cell,
      ];
    },
    (b) => ({ "data-scope": b.scope, "data-id": b.id, "data-window": b.window, "data-spent": b.spent_usd, "data-hard": b.hard_usd || 0 }),
  );
}

function render(data, days) {
  const all = totals(data.model).reduce(
    (acc, t) => {
      for (const k of ["requests", "errors", "cache_hits", "failovers", "spend", "saved_usd"]) acc[k] += t[k];
      return acc;
    },
    { requests: 0, errors: 0, cache_hits: 0, failovers: 0, spend: 0, saved_usd: 0 },
  );
  setFigure("total-cost", all.spend, "usd");
  setFigure("saved-cost", all.saved_usd, "usd");
  setFigure("requests", all.requests);
  setFigure("errors", all.errors);
  setFigure("cache-hits", all.cache_hits);
  setFigure("failovers", all.failovers);
  for (const group of ["model", "team", "feature"]) renderGroup(group, data[group], days);
  const providers = totals(data.provider).sort((a, b) => b.requests - a.requests);
  const busiest = Math.max(0, ...providers.map((p) => p.requests));
  fillTable(
    "table-provider",
    providers,
    (p) => [td(label(p.value)), td(String(p.requests), true), td(String(p.errors), true), barCell([[p.requests, ""], [p.errors, "errors"]], busiest)],
    (p) => ({ "data-value": p.value, "data-requests": p.requests, "data-errors": p.errors }),
  );
  stackedChart($("chart-saved"), data.model, days, "saved_usd");
  fillTable(
    "table-cache",
    totals(data.model).filter((t) => t.cache_hits > 0).sort((a, b) => b.saved_usd - a.saved_usd),
    (t) => [td(label(t.value)), td(String(t.cache_hits), true), td(usd(t.saved_usd), true)],
    (t) => ({ "data-value": t.value, "data-hits": t.cache_hits, "data-usd": t.saved_usd }),
  );
  fillTable(
    "table-failovers",
    totals(data.deployment).filter((t) => t.failovers > 0).sort((a, b) => b.failovers - a.failovers),
    (t) => [td(label(t.value)), td(String(t.requests), true), td(String(t.failovers), true)],
    (t) => ({ "data-value": t.value, "data-failovers": t.failovers }),
  );
  renderBudgets(data.budgets);
}

function clearData() {
  for (const id of ["total-cost", "saved-cost", "requests", "errors", "cache-hits", "failovers"]) {
    const node = $(id);
    node.textContent = "–";
    delete node.dataset.usd;
    delete node.dataset.count;
  }
  for (const node of document.querySelectorAll("#dashboard tbody, #dashboard .chart")) node.replaceChildren();
}

async function load() {
  const key = sessionStorage.getItem(KEY_STORE);
  if (!key) {
    setState("login");
    return;
  }
  const { start, end, days } = period();
  const range = `start_date=${start}&end_date=${end}`;
  setStatus("Loading…");
  if (document.body.dataset.state !== "ready") setState("loading");
  try {
    const groups = ["model", "team", "feature", "provider", "deployment"];
    const [reports, budgets] = await Promise.all([
      Promise.all(groups.map((g) => api(`/spend/report?group_by=${g}&${range}`, key))),
      api("/budget/list", key),
    ]);
    const data = { budgets };
    groups.forEach((g, k) => {
      data[g] = reports[k];
    });
    render(data, days);
    setStatus(`${start} to ${end} (UTC) · updated ${new Date().toLocaleTimeString()}`);
    setState("ready");
  } catch (error) {
    clearData();
    showFailure(error, "the ledger");
  }
}

startPage(load, clearData);
$("days").addEventListener("change", load);
