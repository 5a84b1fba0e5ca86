// Switchyard's quality dashboard: each deployment's judge score per hour with its model-version
// segments and quality alerts (from /quality), and an experiment's A/B report with its 95 %
// intervals (from /experiments/{name}/report). common.js holds the key, fetches and helpers.
"use strict";

const HOUR_MS = 3600000;
const SCORE_MIN = 1, SCORE_MAX = 10;

function utc(ms) {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

function score(value, count) {
  return Number(count) > 0 ? value.toFixed(2) : "–";
}

function interval(estimate) {
  if (!Number(estimate.count)) return "–";
  return `${estimate.mean.toFixed(2)} [${estimate.low.toFixed(2)}, ${estimate.high.toFixed(2)}]`;
}

function segmentsOf(quality) {
  const rows = [];
  for (const deployment of quality.deployments || []) {
    for (const segment of deployment.segments) rows.push({ deployment: deployment.deployment_id, ...segment });
  }
  return rows;
}

// The frame both axes are drawn in: x in ms over [from, to], y over the judge's 1-10 scale.
function frame(from, to) {
  const width = 720, height = 240, left = 40, right = 12, top = 14, bottom = 24;
  const span = Math.max(to - from, HOUR_MS);
  return {
    width, height, left, top, bottom, from, to: from + span,
    x: (ms) => left + ((ms - from) / span) * (width - left - right),
    y: (value) => top + (1 - (value - SCORE_MIN) / (SCORE_MAX - SCORE_MIN)) * (height - top - bottom),
  };
}

function scoreAxis(chart, f) {
  for (const value of [1, 4, 7, 10]) {
    const y = f.y(value);
    chart.append(svg("line", { class: "grid", x1: f.left, x2: f.width, y1: y, y2: y }));
    chart.append(svg("text", { class: "axis", x: f.left - 6, y: y + 3, "text-anchor": "end" }, String(value)));
  }
}

function timeAxis(chart, f) {
  for (const [ms, anchor] of [[f.from, "start"], [(f.from + f.to) / 2, "middle"], [f.to, "end"]]) {
    chart.append(svg("text", { class: "axis", x: f.x(ms), y: f.height - 6, "text-anchor": anchor }, utc(ms).slice(5)));
  }
}

function legendOf(names, color) {
  const legend = el("ul", { class: "legend" });
  for (const name of names) {
    const item = el("li");
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = color(name);
    item.append(swatch, document.createTextNode(name));
    legend.append(item);
  }
  return legend;
}

// Draws one line per deployment through its hourly judge means, segment starts and alerts.
function qualityChart(container, deployments) {
  container.replaceChildren();
  const judged = deployments.filter((d) => d.segments.some((s) => (s.hours || []).some((h) => Number(h.judge_count) > 0)));
  if (judged.length === 0) {
    container.append(el("p", { class: "empty" }, "No judged samples yet."));
    return;
  }
  const hours = judged.flatMap((d) => d.segments.flatMap((s) => (s.hours || []).map((h) => Number(h.start_ms))));
  const f = frame(Math.min(...hours), Math.max(...hours) + HOUR_MS);
  const chart = svg("svg", { viewBox: `0 0 ${f.width} ${f.height}`, role: "img" });
  chart.append(svg("title", {}, container.dataset.title || "judge score"));
  scoreAxis(chart, f);
  timeAxis(chart, f);
  const names = judged.map((d) => d.deployment_id);
  const color = (name) => PALETTE[names.indexOf(name) % PALETTE.length];
  for (const deployment of judged) {
    const name = deployment.deployment_id;
    const points = [];
    deployment.segments.forEach((segment, k) => {
      if (k > 0) {
        const x = f.x(Number(segment.started_ms));
        chart.append(svg("line", { class: "segment", x1: x, x2: x, y1: f.top, y2: f.height - f.bottom, stroke: color(name) }));
        chart.append(svg("text", { class: "axis", x: x + 3, y: f.top + 8 }, segment.model || "?"));
      }
      for (const hour of segment.hours || []) {
        if (!Number(hour.judge_count)) continue;
        points.push([f.x(Number(hour.start_ms) + HOUR_MS / 2), f.y(hour.judge_mean), hour]);
      }
      for (const at of segment.alert_ms || []) {
        const marker = svg("text", { class: "alert", x: f.x(Number(at)), y: f.top, "text-anchor": "middle", "data-deployment": name, "data-alert-ms": at }, "▼");
        marker.append(svg("title", {}, `${name}: quality alert at ${utc(Number(at))} UTC`));
        chart.append(marker);
      }
    });
    chart.append(svg("polyline", { class: "line", points: points.map(([x, y]) => `${x},${y}`).join(" "), stroke: color(name) }));
    for (const [x, y, hour] of points) {
      const dot = svg("circle", { cx: x, cy: y, r: 3, fill: color(name), "data-deployment": name, "data-mean": hour.judge_mean, "data-count": hour.judge_count });
      dot.append(svg("title", {}, `${name} · ${utc(Number(hour.start_ms))} UTC: ${hour.judge_mean.toFixed(2)} (${hour.judge_count} judged)`));
      chart.append(dot);
    }
  }
  container.append(chart, legendOf(names, color));
}

// Draws each arm's judge score as a dot on its 95 % interval.
function armsChart(container, arms) {
  container.replaceChildren();
  const judged = arms.filter((arm) => Number(arm.judge.count) > 0);
  if (judged.length === 0) return;
  const width = 720, rowH = 28, left = 120, right = 12, top = 8, bottom = 20;
  const height = top + bottom + rowH * judged.length;
  const x = (value) => left + ((value - SCORE_MIN) / (SCORE_MAX - SCORE_MIN)) * (width - left - right);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  chart.append(svg("title", {}, container.dataset.title || "judge score per arm"));
  for (const value of [1, 4, 7, 10]) {
    chart.append(svg("line", { class: "grid", x1: x(value), x2: x(value), y1: top, y2: height - bottom }));
    chart.append(svg("text", { class: "axis", x: x(value), y: height - 6, "text-anchor": "middle" }, String(value)));
  }
  judged.forEach((arm, k) => {
    const y = top + rowH * k + rowH / 2;
    const { mean, low, high } = arm.judge;
    chart.append(svg("text", { class: "axis", x: left - 8, y: y + 3, "text-anchor": "end" }, arm.arm));
    chart.append(svg("line", { class: "interval", x1: x(low), x2: x(high), y1: y, y2: y, stroke: PALETTE[k % PALETTE.length] }));
    const dot = svg("circle", { cx: x(mean), cy: y, r: 5, fill: PALETTE[k % PALETTE.length], "data-arm": arm.arm, "data-mean": mean, "data-low": low, "data-high": high });
    dot.append(svg("title", {}, `${arm.arm}: ${interval(arm.judge)} (${arm.judge.count} judged)`));
    chart.append(dot);
  });
  container.append(chart);
}

function renderQuality(quality) {
  qualityChart($("chart-quality"), quality.deployments || []);
  fillTable(
    "table-segments",
    segmentsOf(quality),
    (s) => [
      td(s.deployment), td(s.model || "–"), td(s.system_fingerprint || "–"), td(utc(Number(s.started_ms))),
      td(String(s.judge.count), true), td(interval(s.judge), true), td(String(s.feedback.count), true),
      td(interval(s.feedback), true), td(String(s.alerts), true),
    ],
    (s) => ({ "data-deployment": s.deployment, "data-model": s.model, "data-judged": s.judge.count, "data-judge": s.judge.mean, "data-alerts": s.alerts }),
    "No samples graded yet.",
  );
}

function renderReport(report) {
  $("verdict").textContent = report ? report.verdict : "No experiment has samples yet.";
  const arms = report ? report.arms : [];
  armsChart($("chart-arms"), arms);
  const usdPerRequest = (e) => (Number(e.count) ? "$" + e.mean.toPrecision(3) : "–");
  fillTable(
    "table-arms",
    arms,
    (a) => [
      td(a.arm), td(String(a.samples), true), td(interval(a.judge), true), td(interval(a.feedback), true),
      td(usdPerRequest(a.cost_usd), true), td(Number(a.latency_ms.count) ? `${Math.round(a.latency_ms.mean)} ms` : "–", true),
      td(score(100 * a.error_rate.mean, a.error_rate.count) + (Number(a.error_rate.count) ? " %" : ""), true),
    ],
    (a) => ({ "data-arm": a.arm, "data-judge": a.judge.mean, "data-judged": a.judge.count }),
    "No experiment has samples yet.",
  );
  fillTable(
    "table-shadows",
    report ? report.shadows : [],
    (s) => [td(s.target), td(String(s.wins), true), td(String(s.losses), true), td(String(s.ties), true)],
    (s) => ({ "data-target": s.target }),
    "No shadow pairs compared.",
  );
}

function chooseExperiments(names) {
  const select = $("experiment");
  const chosen = select.value;
  select.replaceChildren(...names.map((name) => el("option", { value: name }, name)));
  if (names.includes(chosen)) select.value = chosen;
  return select.value;
}

function clearQuality() {
  for (const node of document.querySelectorAll("#dashboard tbody, #dashboard .chart")) node.replaceChildren();
  $("verdict").textContent = "";
}

async function load() {
  const key = sessionStorage.getItem(KEY_STORE);
  if (!key) {
    setState("login");
    return;
  }
  setStatus("Loading…");
  if (document.body.dataset.state !== "ready") setState("loading");
  try {
    const quality = await api("/quality", key);
    const experiment = chooseExperiments(quality.experiments || []);
    const report = experiment ? await api(`/experiments/${encodeURIComponent(experiment)}/report`, key) : null;
    renderQuality(quality);
    renderReport(report);
    setStatus(`Updated ${new Date().toLocaleTimeString()}`);
    setState("ready");
  } catch (error) {
    clearQuality();
    showFailure(error, "the evaluator's numbers");
  }
}

startPage(load, clearQuality);
$("experiment").addEventListener("change", load);
