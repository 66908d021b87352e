// The shapes the kernel benchmark runs: the model's linear layers (K inputs, N outputs) at decode
// (M = 1) and at prefill over ~160 tokens (144 visual tokens + the prompt).

/** Rows: 1 = decode (GEMV), 160 = prefill (GEMM). */
export const BENCH_ROWS = [1, 160];

/** (K, N) pairs: attention projections, MLP up/down, projector. */
export const BENCH_SHAPES: [number, number][] = [
  [128, 128],
  [128, 512],
  [512, 128],
  [256, 256],
  [256, 1024],
  [1024, 256],
];
