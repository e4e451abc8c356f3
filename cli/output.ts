/** Writes whole lines; stdout carries results (and JSON lines), stderr diagnostics. */
export const out = (line = ''): void => void process.stdout.write(`${line}\n`);
export const err = (line = ''): void => void process.stderr.write(`${line}\n`);

/** One JSON object per line, for `--json`. */
export const jsonLine = (value: Record<string, unknown>): void => out(JSON.stringify(value));
