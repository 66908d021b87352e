// The dashboard's four uPlot charts, built once and fed by `update(report)` with each /v1/metrics
// answer: per-token latency of recent requests, TTFT / inter-token percentiles over time, the stacked
// prefill breakdown per request, and visual tokens kept per LLM layer by method. uPlot is the global the
// page's <script src="/dashboard/uPlot.iife.min.js"> defines.
/* global uPlot */

/** A colour per pruning method (also used by the table and the map). */
export const METHOD_COLORS = {
  none: "#8a94a6",
  atp: "#5fb3f9",
  fastv: "#f9a65f",
  pdrop: "#b48ead",
  random: "#ebcb8b",
  grid: "#a3be8c",
  divprune: "#d08770",
  cdpruner: "#bf616a",
  visionzip: "#8fbcbb",
  dart: "#e5e9f0",
};
export const methodColor = (m) => METHOD_COLORS[m] ?? "#d8dee9";

/** Lines of the per-token chart: the newest requests. */
const TOKEN_LINES = 16;
/** The stacked breakdown's parts (record.ts Breakdown) and colours, bottom first. */
const PARTS = [
  ["image decode", "image_decode", "#4c566a"],
  ["model wait", "model_wait", "#7b6f9e"],
  ["preprocess", "preprocess", "#88c0d0"],
  ["vision", "vision", "#5e81ac"],
  ["projector", "projector", "#81a1c1"],
  ["LLM layers", "llm", "#a3be8c"],
  ["pruning", "pruning", "#f9a65f"],
  ["queue", "queue", "#bf616a"],
  ["other", "other", "#616e88"],
];

const AXIS = {
  stroke: "#8a94a6",
  grid: { stroke: "#232833", width: 1 },
  ticks: { stroke: "#232833", width: 1 },
};
/** Integer tick steps for axes that count (tokens, layers, requests). */
const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const ms = (v) => (v == null ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(1));

function size(el) {
  return { width: Math.max(300, el.clientWidth), height: 260 };
}

function make(id, opts, data) {
  const el = document.getElementById(id);
  return new uPlot({ ...size(el), ...opts }, data, el);
}

/** Per-token chart data: x = token index (1 = first token after the first), one line per request. */
function tokenData(requests) {
  const recent = requests.slice(0, TOKEN_LINES).reverse(); // oldest first: newest drawn on top
  const len = Math.max(1, ...recent.map((r) => r.itl_ms.length));
  const x = Array.from({ length: len }, (_, i) => i + 1);
  const ys = recent.map((r) => x.map((_, i) => r.itl_ms[i] ?? null));
  return { recent, data: [x, ...ys] };
}

/** Stacked cumulative sums per request (oldest first) and a y range that clips cold starts. */
function breakdownData(requests) {
  const rows = requests.slice().reverse();
  const x = rows.map((_, i) => i + 1);
  const parts = rows.map((r) => {
    const b = r.breakdown;
    const llm = b.llm_layers.reduce((a, c) => a + c, 0);
    return PARTS.map(([, key]) => (key === "llm" ? llm : (b[key] ?? 0))); // records older than a part: 0
  });
  const stacks = PARTS.map((_, p) => parts.map((v) => v.slice(0, p + 1).reduce((a, c) => a + c, 0)));
  const totals = parts.map((v) => v.reduce((a, c) => a + c, 0)).sort((a, b) => a - b);
  const p90 = totals.length ? totals[Math.floor(0.9 * (totals.length - 1))] : 1;
  return { data: [x, ...stacks.reverse()], ymax: Math.max(1, p90 * 1.25) };
}

/** Mean visual tokens entering each layer, per method. */
function layerData(requests) {
  const by = new Map();
  for (const r of requests) {
    const acc = by.get(r.method) ?? { n: 0, sum: [] };
    r.visual_per_layer.forEach((v, l) => (acc.sum[l] = (acc.sum[l] ?? 0) + v));
    acc.n++;
    by.set(r.method, acc);
  }
  const methods = [...by.keys()].sort();
  const layers = Math.max(1, ...requests.map((r) => r.visual_per_layer.length));
  const x = Array.from({ length: layers }, (_, l) => l);
  const ys = methods.map((m) => x.map((l) => (by.get(m).sum[l] ?? 0) / by.get(m).n));
  return { methods, data: [x, ...ys] };
}

/** Replaces a chart whose series changed (uPlot cannot swap series wholesale). */
function rebuild(chart, id, opts, data) {
  chart?.destroy();
  return make(id, opts, data);
}

const sameKeys = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The four charts; `update(report)` redraws them from a /v1/metrics answer. */
export function createCharts() {
  const charts = { tokens: null, percentiles: null, breakdown: null, layers: null };
  let tokenKeys = [];
  let layerKeys = [];

  charts.percentiles = make(
    "chart-percentiles",
    {
      scales: { x: { time: true }, ttft: { auto: true }, itl: { auto: true } },
      axes: [
        AXIS,
        { ...AXIS, scale: "ttft", label: "TTFT ms", size: 56 },
        { ...AXIS, scale: "itl", side: 1, label: "ITL ms", size: 56, grid: { show: false } },
      ],
      series: [
        {},
        ...[
          ["TTFT p50", "ttft", "#5fb3f9", []],
          ["TTFT p95", "ttft", "#5fb3f9", [6, 4]],
          ["TTFT p99", "ttft", "#5fb3f9", [2, 3]],
          ["ITL p50", "itl", "#a3be8c", []],
          ["ITL p95", "itl", "#a3be8c", [6, 4]],
          ["ITL p99", "itl", "#a3be8c", [2, 3]],
        ].map(([label, scale, stroke, dash]) => ({
          label,
          scale,
          stroke,
          dash,
          width: 2,
          spanGaps: true,
          value: (_, v) => ms(v),
          points: { show: true, size: 5, fill: stroke },
        })),
      ],
    },
    [[], [], [], [], [], [], []],
  );

  charts.breakdown = make(
    "chart-breakdown",
    {
      scales: { x: { time: false }, y: { range: (_, __, max) => [0, max] } },
      axes: [
        { ...AXIS, label: "request (oldest → newest)", incrs: INT_INCRS },
        { ...AXIS, label: "ms", size: 56 },
      ],
      series: [
        { label: "request" },
        ...PARTS.slice()
          .reverse()
          .map(([label, , color]) => ({
            label,
            stroke: color,
            fill: color,
            width: 0,
            paths: uPlot.paths.bars({ size: [0.85, 24], align: 0 }),
            points: { show: false },
            value: (_, v) => ms(v),
          })),
      ],
    },
    [[], ...PARTS.map(() => [])],
  );

  function update(report) {
    const requests = report.requests;
    const s = report.series;
    charts.percentiles.setData([s.t, s.ttft_p50, s.ttft_p95, s.ttft_p99, s.itl_p50, s.itl_p95, s.itl_p99]);

    const b = breakdownData(requests);
    charts.breakdown.setData(b.data, false);
    charts.breakdown.setScale("x", { min: 0.5, max: Math.max(1.5, requests.length + 0.5) });
    charts.breakdown.setScale("y", { min: 0, max: b.ymax });

    const t = tokenData(requests);
    const keys = t.recent.map((r) => r.id);
    const tokenOpts = {
      scales: { x: { time: false } },
      axes: [
        { ...AXIS, label: "token (after the first)", incrs: INT_INCRS },
        { ...AXIS, label: "ms", size: 56 },
      ],
      legend: { show: false },
      series: [
        { label: "token" },
        ...t.recent.map((r, i) => ({
          label: `#${r.id} ${r.method}`,
          stroke: methodColor(r.method),
          width: i === t.recent.length - 1 ? 2.5 : 1.25,
          alpha: 0.35 + (0.65 * (i + 1)) / t.recent.length,
          points: { show: false },
          value: (_, v) => ms(v),
        })),
      ],
    };
    if (!charts.tokens || !sameKeys(keys, tokenKeys))
      charts.tokens = rebuild(charts.tokens, "chart-tokens", tokenOpts, t.data);
    else charts.tokens.setData(t.data);
    tokenKeys = keys;

    const l = layerData(requests);
    const layerOpts = {
      scales: { x: { time: false }, y: { range: (_, __, max) => [0, Math.max(1, max) * 1.08] } },
      axes: [
        { ...AXIS, label: "LLM layer", incrs: INT_INCRS },
        { ...AXIS, label: "visual tokens", size: 56 },
      ],
      series: [
        { label: "layer" },
        ...l.methods.map((m) => ({
          label: m,
          stroke: methodColor(m),
          width: 2,
          paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: true, size: 6, fill: methodColor(m) },
          value: (_, v) => (v == null ? "–" : v.toFixed(1)),
        })),
      ],
    };
    if (!charts.layers || !sameKeys(l.methods, layerKeys))
      charts.layers = rebuild(charts.layers, "chart-layers", layerOpts, l.data);
    else charts.layers.setData(l.data);
    layerKeys = l.methods;
  }

  return { charts, update };
}
