// The dashboard page's script: reads the API key from its form (kept for the tab's session, never from
// the URL: a key in a URL ends up in logs, history and Referer headers, so a `?key=` is dropped from the
// address bar unused), polls /v1/metrics with it as a bearer token, fills the summary cards, the charts
// (charts.js), the pruning map (map.js) and the table of recent requests. Everything that comes from the
// store is put in the page as text (DOM nodes and textContent, never parsed as HTML), and the page's
// Content-Security-Policy (worker/routes/dashboard.ts) runs no script but its own files. `window.__dashboard` exposes what was drawn, for the
// browser test (test/browser/) and for anyone curious in the console.
import { createCharts, methodColor } from "./charts.js";
import { drawMap } from "./map.js";
import { runProbe } from "./probe.js";

const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(1000, Number(params.get("refresh") ?? 5000));
const KEY_SLOT = "atp-edge.key";
/** Rows of the recent-requests table. */
const TABLE_ROWS = 15;
if (params.has("key")) {
  params.delete("key");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  document.addEventListener("DOMContentLoaded", () => ($("key-in-url").hidden = false));
}

const $ = (id) => document.getElementById(id);
const state = (window.__dashboard = { ready: false, loads: 0, report: null, map: null, charts: null });
const { charts, update } = createCharts();
state.charts = charts;
let selected = null; // request id on the map; null follows the newest pruned request
let timer = 0;

const authHeaders = () => {
  const key = sessionStorage.getItem(KEY_SLOT);
  return key ? { Authorization: `Bearer ${key}` } : {};
};

async function api(path) {
  const res = await fetch(path, { headers: authHeaders() });
  if (res.status === 401) {
    $("auth").hidden = false;
    throw new Error("API key needed");
  }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

const fmt = (v, d = 1) => (v == null ? "–" : Number(v).toFixed(d));

/** An element with a class and children (strings become text nodes). */
function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return node;
}

function card(label, value, sub = "") {
  return el("div", "card", el("div", "label", label), el("div", "value", value), el("div", "sub", sub));
}

function renderCards(r) {
  const cold = r.requests.filter((q) => q.cold).length;
  const pct = (p) => `p95 ${fmt(p.p95)} · p99 ${fmt(p.p99)}`;
  // measured by the Worker's own clock: true locally; on Cloudflare's network it stands still between I/O
  const clockNote = r.frozen_clock
    ? `clock frozen in ${r.frozen_clock}: see the estimate`
    : "local clock (in-process)";
  const est = r.estimate && r.estimate.ttft_ms.count ? r.estimate : null;
  const fractions = r.requests.flatMap((q) => q.visual_per_layer.map((v) => v / q.visual_total));
  const kept = fractions.length ? fractions.reduce((a, b) => a + b, 0) / fractions.length : null;
  $("cards").replaceChildren(
    card(
      "requests",
      r.count,
      r.truncated
        ? "newest 5000 read"
        : Object.entries(r.methods)
            .map(([m, n]) => `${m} ${n}`)
            .join(" · "),
    ),
    card("TTFT p50 ms", fmt(r.ttft_ms.p50), `${pct(r.ttft_ms)} · ${clockNote}`),
    card("ITL p50 ms", fmt(r.itl_ms.p50, 2), `${pct(r.itl_ms)} · ${clockNote}`),
    card("TTFT p50 ms, estimate", fmt(est?.ttft_ms.p50), "cost model at each request's counts"),
    card("ITL p50 ms, estimate", fmt(est?.itl_ms.p50, 2), "cost model, mean decode step"),
    card("CPU ms / request, estimate", fmt(est?.cpu_ms.p50), est ? pct(est.cpu_ms) : "no cost table"),
    card(
      "CPU ms / request, Cloudflare",
      fmt(r.trace?.cpu_ms.p50),
      r.trace?.cpu_ms.count ? `${r.trace.cpu_ms.count} traced (Tail Worker)` : "no traces (Tail Worker)",
    ),
    card("tokens / s", r.itl_ms.mean ? fmt(1000 / r.itl_ms.mean, 0) : "–", "decode, from mean ITL"),
    card("tokens measured", r.itl_ms.count, "inter-token gaps"),
    card("cold starts", cold, "model loaded by the request"),
    card("vision reused", r.vision_cached ?? 0, "follow-ups on an image seen before: no encoder"),
    card(
      "visual tokens kept",
      kept == null ? "–" : `${fmt(100 * kept, 0)}%`,
      "mean over layers and requests",
    ),
  );
}

function renderTable(requests) {
  const rows = requests.slice(0, TABLE_ROWS).map((q) => {
    const itl = q.itl_ms.slice().sort((a, b) => a - b);
    const kept = q.visual_per_layer.length ? `${q.visual_per_layer.at(-1)}/${q.visual_total}` : "–";
    const tag = el("span", "tag", q.method);
    tag.style.background = methodColor(q.method);
    const tr = el(
      "tr",
      q.id === state.map?.id ? "selected" : "",
      el("td", "", q.id),
      el("td", "", new Date(q.ts).toLocaleTimeString()),
      el("td", "", tag),
      el("td", "", q.budget ?? "–"),
      el("td", q.cold ? "cold" : "", q.cold ? "cold" : "warm"),
      el("td", "", q.vision_cached ? "reused" : "computed"),
      el("td", "", fmt(q.ttft_ms)),
      el("td", "", fmt(itl[Math.floor((itl.length - 1) / 2)], 2)),
      el("td", "", q.itl_ms.length + 1),
      el("td", "", kept),
      el("td", "", q.stopped_by),
    );
    tr.dataset.id = String(q.id);
    return tr;
  });
  $("requests").tBodies[0].replaceChildren(...rows);
}

function renderMapChoices(requests) {
  const withThumb = requests.filter((q) => q.has_thumb).slice(0, 50);
  $("map-request").replaceChildren(
    ...withThumb.map(
      (q) => new Option(`#${q.id} ${q.method}${q.budget != null ? ` β=${q.budget}` : ""}`, String(q.id)),
    ),
  );
  const pruned = withThumb.find((q) => q.method !== "none") ?? withThumb[0];
  const id = selected ?? pruned?.id ?? null;
  if (id != null) $("map-request").value = String(id);
  return id;
}

async function showMap(id) {
  if (id == null) return;
  const detail = await api(`/v1/metrics/requests/${encodeURIComponent(id)}`);
  state.map = drawMap($("map"), detail, methodColor(detail.method));
  $("map-title").textContent =
    `request #${detail.id} · ${detail.method} · ${detail.grid}×${detail.grid} tokens`;
  for (const tr of $("requests").tBodies[0].rows)
    tr.classList.toggle("selected", tr.dataset.id === String(id));
}

async function refresh() {
  clearTimeout(timer);
  const t0 = performance.now();
  try {
    const q = new URLSearchParams({ window: $("window").value });
    if ($("method").value) q.set("method", $("method").value);
    const report = await api(`/v1/metrics?${q}`);
    state.report = report;
    renderCards(report);
    update(report);
    renderTable(report.requests);
    await showMap(renderMapChoices(report.requests));
    state.loads++;
    state.loadMs = performance.now() - t0;
    state.ready = true;
    $("status").className = "status";
    $("status").textContent =
      `${report.count} requests · updated ${new Date().toLocaleTimeString()} · ${fmt(state.loadMs, 0)} ms`;
  } catch (err) {
    $("status").className = "status error";
    $("status").textContent = String(err.message ?? err);
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

async function fillMethods() {
  try {
    const models = await api("/v1/models");
    for (const m of models.data[0]?.atp?.methods ?? []) $("method").add(new Option(m, m));
  } catch {
    // the filter keeps "all"
  }
}

$("auth").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY_SLOT, $("key").value);
  $("auth").hidden = true;
  fillMethods();
  refresh();
});
$("probe-run").addEventListener("click", async () => {
  const out = $("probe-result");
  out.className = "status";
  out.textContent = "streaming…";
  try {
    const p = await runProbe(authHeaders());
    state.probe = p;
    const itl = p.itl_ms.slice().sort((a, b) => a - b);
    const est = p.server?.cpu_estimate;
    out.textContent =
      `browser clock: TTFT ${fmt(p.ttft_ms)} ms · ITL p50 ${fmt(itl[Math.floor((itl.length - 1) / 2)], 2)} ms · ` +
      `${p.tokens} tokens in ${fmt(p.total_ms)} ms · "${p.text}"` +
      (est ? ` · server estimate: TTFT ${fmt(est.ttft_ms)} ms, CPU ${fmt(est.cpu_ms)} ms` : "");
  } catch (err) {
    out.className = "status error";
    out.textContent = String(err.message ?? err);
  }
});
$("window").addEventListener("change", refresh);
$("method").addEventListener("change", refresh);
$("map-request").addEventListener("change", (ev) => {
  selected = Number(ev.target.value);
  showMap(selected);
});
$("requests").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr[data-id]");
  if (!tr) return;
  selected = Number(tr.dataset.id);
  $("map-request").value = tr.dataset.id;
  showMap(selected);
});

fillMethods();
refresh();
