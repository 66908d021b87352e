// The command-line flags of every tool under tools/: node:util parseArgs (strict, no positionals) with
// --help/-h added.
// --help prints the tool's usage and exits 0; a flag parseArgs refuses (unknown, missing value, a value
// given to a boolean) prints the reason and the usage and exits 2, without a stack trace.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** What `parseFlags` does instead of returning: print and exit (injectable for tests). */
export interface FlagsExit {
  out: (text: string) => void;
  err: (text: string) => void;
  exit: (code: number) => never;
}

const processExit: FlagsExit = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  exit: (code) => process.exit(code),
};

/**
 * Parses `argv` (default: the process's arguments) against `options` plus --help. `usage` is the text
 * printed for --help and after a refused flag; `tool` names the tool in the error line.
 */
export function parseFlags<T extends ParseArgsOptionsConfig>(
  tool: string,
  usage: string,
  options: T,
  { argv, exit = processExit }: { argv?: string[]; exit?: FlagsExit } = {},
) {
  const config = { args: argv, options, allowPositionals: false, strict: true } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs({ ...config, options: { ...options, ...HELP } }) as typeof parsed;
  } catch (err) {
    exit.err(`${tool}: ${(err as Error).message}\n${usage}`);
    return exit.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    exit.out(usage);
    return exit.exit(0);
  }
  return parsed;
}
