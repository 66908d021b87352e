// assembly/index.ts is what tools/build/kernels.ts writes from the kernel table: a row added to the table
// without rebuilding (or an export added by hand) fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kernelIndexSource } from "../../../tools/build/kernels";

describe("assembly/index.ts", () => {
  it("is the export list generated from the kernel table", () => {
    expect(readFileSync("assembly/index.ts", "utf8")).toBe(kernelIndexSource());
  });
});
