// Line charts as standalone SVG (accuracy vs visual tokens kept per method; val accuracy vs training
// time per family); `svgToPng` screenshots one with Debian's headless chromium (docs/platform.md: the flags an
// offline machine needs).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** One curve: points (x, y), y a fraction shown as a percentage. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** Title, axis labels, how x ticks read, and an optional dashed horizontal reference line. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xTick: (x: number) => string;
  /** x axis end: at least this, else 10% past the largest x (capped at `xMax`). */
  xMax?: number;
  reference?: { y: number; label: string };
  /** Draw a dot at every point (off for dense curves). */
  dots?: boolean;
}

const COLOURS = [
  "#d62728",
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#7f7f7f",
  "#8c564b",
  "#000000",
  "#17becf",
  "#bcbd22",
];
const W = 860;
const H = 520;
const M = { l: 70, r: 170, t: 40, b: 60 };

/** The smallest tick step of 1, 2 or 5 x 10^k that splits `range` into at most `maxTicks` intervals. */
export function niceStep(range: number, maxTicks = 10): number {
  const raw = range / maxTicks;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw * (1 - 1e-9))!;
}

/** The chart as SVG text. */
export function chartSvg(series: Series[], o: ChartOptions): string {
  const { title, reference } = o;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).concat(reference ? [reference.y] : []);
  const x0 = 0;
  // x gridlines at round values (niceStep), the axis ending on one
  const xEnd = Math.min(o.xMax ?? Infinity, Math.max(...xs) * 1.1);
  const xStep = niceStep(xEnd - x0);
  const x1 = x0 + Math.ceil((xEnd - x0) / xStep - 1e-9) * xStep;
  // y gridlines every 5 or 10 points, the range padded by 2 points and snapped to them
  const yStep = Math.max(...ys) - Math.min(...ys) > 0.4 ? 0.1 : 0.05;
  const y0 = Math.max(0, Math.floor((Math.min(...ys) - 0.02) / yStep) * yStep);
  const y1 = Math.min(1, Math.ceil((Math.max(...ys) + 0.02) / yStep) * yStep);
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r);
  const py = (y: number) => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="24" font-size="16" text-anchor="middle">${title}</text>`,
  ];
  for (let i = 0; i <= Math.round((x1 - x0) / xStep); i++) {
    const x = x0 + xStep * i;
    parts.push(
      `<line x1="${px(x)}" y1="${py(y0)}" x2="${px(x)}" y2="${py(y1)}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${H - M.b + 18}" text-anchor="middle">${o.xTick(x)}</text>`,
    );
  }
  for (let i = 0; i <= Math.round((y1 - y0) / yStep); i++) {
    const y = y0 + yStep * i;
    parts.push(
      `<line x1="${px(x0)}" y1="${py(y)}" x2="${px(x1)}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${M.l - 8}" y="${py(y) + 4}" text-anchor="end">${(100 * y).toFixed(0)}</text>`,
    );
  }
  parts.push(
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 16}" text-anchor="middle">${o.xLabel}</text>`,
    `<text x="18" y="${(H - M.b + M.t) / 2}" transform="rotate(-90 18 ${(H - M.b + M.t) / 2})" text-anchor="middle">${o.yLabel}</text>`,
  );
  if (reference)
    parts.push(
      `<line x1="${px(x0)}" y1="${py(reference.y)}" x2="${px(x1)}" y2="${py(reference.y)}" stroke="#000" stroke-dasharray="6 4"/>`,
      `<text x="${px(x0) + 6}" y="${py(reference.y) - 6}">${reference.label}</text>`,
    );
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    parts.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(" ")}"/>`,
      ...(o.dots === false
        ? []
        : pts.map((p) => `<circle cx="${px(p.x)}" cy="${py(p.y)}" r="4" fill="${c}"/>`)),
      `<rect x="${W - M.r + 20}" y="${M.t + 22 * i}" width="14" height="4" fill="${c}"/>`,
      `<text x="${W - M.r + 40}" y="${M.t + 22 * i + 6}">${s.name}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Chromium flags for a headless run as root on an offline machine (docs/platform.md). */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Renders `svg` (its root's width and height set the window) to a PNG file with headless chromium. */
export function svgToPng(svg: string, pngPath: string, chromium = "/usr/bin/chromium"): void {
  const size = /<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"/.exec(svg);
  if (!size) throw new Error("svgToPng: the svg root needs width and height");
  if (!existsSync(chromium))
    throw new Error(`svgToPng: no ${chromium} to render the chart with (Debian: apt-get install chromium)`);
  const dir = mkdtempSync(join(tmpdir(), "chart-"));
  try {
    const html = join(dir, "chart.html");
    writeFileSync(html, `<html><body style="margin:0">${svg}</body></html>`);
    execFileSync(
      chromium,
      [
        "--headless",
        ...CHROMIUM_FLAGS,
        "--hide-scrollbars",
        `--user-data-dir=${join(dir, "profile")}`,
        `--window-size=${size[1]},${size[2]}`,
        `--screenshot=${resolve(pngPath)}`,
        `file://${html}`,
      ],
      { stdio: "ignore", timeout: 60_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
