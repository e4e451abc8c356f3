import { createLogUpdate } from 'log-update';
import type { VersionRef } from '../core/contracts';
import type { ExitCode } from './exit-codes';
import type { Outcome } from './outcome';
import { err, jsonLine, out } from './output';
import { changeLines, renderFrame } from './progress';
import type { RotationStatus } from '../core/status';

/** How a followed rotation ended, as reported on the last line(s). */
export interface FinalReport {
  workflowId: string;
  runId: string;
  secret: string;
  outcome: Outcome;
  exitCode: ExitCode;
  message?: string;
  failureChain?: string[];
  previous?: VersionRef;
  current?: VersionRef;
  attention?: string;
}

/** Where progress goes: a live terminal frame, appended lines, or JSON lines. */
export interface ProgressView {
  /** Called on every poll with the latest status (views decide whether anything changed). */
  status(s: RotationStatus): void;
  /** A transient condition, e.g. no worker answering; `undefined` clears it. */
  note(message: string | undefined): void;
  result(r: FinalReport): void;
  /** Leaves the terminal in a clean state; idempotent. */
  stop(): void;
}

function humanResult(r: FinalReport): void {
  if (r.outcome === 'rotated') {
    const from = r.previous ? `v${r.previous.version} → ` : '';
    out(`✔ rotated ${r.secret}: ${from}v${r.current?.version ?? '?'}${r.current ? ` (${r.current.fingerprint})` : ''}`);
    return;
  }
  const headline: Record<Outcome, string> = {
    rotated: '',
    'rolled-back': '✘ rolled back — the old credential is current again',
    aborted: '✘ aborted — compensation ran; the old credential is current again',
    'compensation-failed': '⚠ compensation failed — manual repair needed',
    'needs-attention': `⚠ needs attention — the rotation is still running past the point of no return`,
    terminated: '⚠ terminated — compensation did not run; check the store',
    cancelled: '⚠ cancelled — check the store',
    'timed-out': '⚠ timed out — compensation did not run; check the store',
    failed: '⚠ failed — check the store',
    refused: '✘ refused — the admin policy or a lock on the store location refused it; nothing was changed',
  };
  err(headline[r.outcome]);
  const [first, ...causes] = r.failureChain ?? [];
  if (first) err(`  ${first}`);
  for (const c of causes) err(`  caused by: ${c}`);
  if (r.outcome === 'needs-attention') {
    if (r.attention) err(`  ${r.attention}`);
    err(`  after fixing the cause: rotor retry ${r.secret}; keep following with: rotor watch ${r.secret}`);
  }
}

/** Redraws one frame in place (log-update), re-rendered on every poll so elapsed times tick. */
class TerminalView implements ProgressView {
  private readonly draw = createLogUpdate(process.stdout);
  private last: RotationStatus | undefined;
  private message: string | undefined;
  private stopped = false;

  status(s: RotationStatus): void {
    this.last = s;
    this.render();
  }
  note(message: string | undefined): void {
    this.message = message;
    this.render();
  }
  private render(): void {
    if (this.stopped) return;
    const frame = this.last ? renderFrame(this.last) : 'waiting for the first status…';
    this.draw(this.message ? `${frame}\n\n… ${this.message}` : frame);
  }
  result(r: FinalReport): void {
    this.message = undefined;
    this.render();
    this.stop();
    humanResult(r);
  }
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.draw.done();
  }
}

/** One plain line per change, for pipes and CI logs. */
class LineView implements ProgressView {
  private last: RotationStatus | undefined;
  private message: string | undefined;

  status(s: RotationStatus): void {
    for (const line of changeLines(this.last, s)) out(line);
    this.last = s;
  }
  note(message: string | undefined): void {
    if (message && message !== this.message) err(`… ${message}`);
    this.message = message;
  }
  result(r: FinalReport): void {
    humanResult(r);
  }
  stop(): void {}
}

/** JSON lines: one `status` object per change, then one `result` object. */
class JsonView implements ProgressView {
  private last = '';
  private message: string | undefined;
  constructor(private readonly ids: { workflowId: string; runId: string }) {}

  status(s: RotationStatus): void {
    const text = JSON.stringify(s);
    if (text === this.last) return;
    this.last = text;
    jsonLine({ event: 'status', ...this.ids, status: s });
  }
  note(message: string | undefined): void {
    // Notes are diagnostics; stdout stays machine-readable.
    if (message && message !== this.message) err(`rotor: ${message}`);
    this.message = message;
  }
  result(r: FinalReport): void {
    jsonLine({ event: 'result', ...r });
  }
  stop(): void {}
}

/** The view for this process: JSON lines with `--json`, a live frame on a TTY, plain lines otherwise. */
export function createView(json: boolean, ids: { workflowId: string; runId: string }): ProgressView {
  if (json) return new JsonView(ids);
  // Some pseudo-terminals report no size; log-update would then draw nothing.
  const sized = (process.stdout.rows ?? 0) > 0 && (process.stdout.columns ?? 0) > 0;
  return process.stdout.isTTY && sized ? new TerminalView() : new LineView();
}
