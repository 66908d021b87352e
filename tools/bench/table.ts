// Plain-text table of a kernel benchmark report, grouped by shape (shared by both entry points).
import type { BenchReport } from "./core";

const fix = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? "-" : v.toFixed(d));

/** The report as aligned text: peaks first, then one line per kernel and shape. */
export function formatTable(report: BenchReport, peerName = "ort"): string {
  const lines = [
    `int8 dot: ${report.int8_dot} (wasm/kernels.ts rdotLowering)`,
    "peaks (GOP/s, L1-resident 2x4 loops): " +
      Object.entries(report.peaks)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", "),
    "",
    [
      "shape MxKxN".padEnd(14),
      "kernel".padEnd(28),
      "GOP/s".padStart(7),
      "peak%".padStart(6),
      `vs ${peerName}`.padStart(7),
      "+quant".padStart(7),
      "GB/s".padStart(6),
      "us".padStart(9),
      "streamed".padStart(9),
    ].join(" "),
  ];
  let last = "";
  for (const r of report.kernels) {
    if (r.shape !== last && last !== "") lines.push("");
    last = r.shape;
    lines.push(
      [
        r.shape.padEnd(14),
        r.name.padEnd(28),
        fix(r.gops).padStart(7),
        (r.peak_fraction === null ? "-" : (100 * r.peak_fraction).toFixed(0)).padStart(6),
        fix(r.vs_ort, 2).padStart(7),
        fix(r.vs_ort_with_quant, 2).padStart(7),
        fix(r.gbps).padStart(6),
        fix(r.us, 0).padStart(9),
        fix(r.streamed_gops).padStart(9),
      ].join(" "),
    );
  }
  if (report.ops.length > 0) {
    lines.push(
      "",
      ["op shape".padEnd(30), "kernel".padEnd(28), "us".padStart(9), "ns/value".padStart(9)].join(" "),
    );
    for (const r of report.ops)
      lines.push(
        [
          r.shape.padEnd(30),
          r.name.padEnd(28),
          fix(r.us, 1).padStart(9),
          fix(r.ns_per_value, 2).padStart(9),
        ].join(" "),
      );
  }
  return lines.join("\n");
}
