import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { JSONPayload } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKey } from '../../adapters/keys';
import { AesGcmCodec } from '../../adapters/temporal/codec';
import { connectClient } from '../../adapters/temporal/connection';
import { statusQuery } from '../../workflows/definitions';
import { rotorSearchAttributes } from '../../core/search-attributes';
import type { HistoryJson } from '../helpers/history';
import { dataText, decodePayload, encodingOf, findPayloads, mapPayloads, toHistoryJson } from '../helpers/history';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { waitForOtelOfRun } from '../helpers/otel';
import { leaksIn, scan } from '../helpers/leak-scan';
import { outcomeOf } from '../helpers/worker';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';

useStackEnv();

/** Text of an error and its cause chain, with details, as a CLI would print it. */
function errorText(e: unknown): string {
  const parts: string[] = [];
  for (
    let cur = e as { message?: string; details?: unknown; cause?: unknown } | undefined;
    cur;
    cur = cur.cause as typeof cur
  ) {
    parts.push(String(cur.message), JSON.stringify(cur.details ?? null));
  }
  return parts.join('\n');
}

const codec = new AesGcmCodec(loadKey('ROTOR_CODEC_KEY'));

/**
 * Every surface a value could reach: raw history, decoded payloads, the worker's log, stderr and
 * audit trail, what the stack's OpenTelemetry Collector received from it, and what the CLI shows.
 */
async function surfacesOf(
  h: WorkflowHandle,
  wp: WorkerProcess,
  outcome: unknown,
): Promise<{ raw: HistoryJson; surfaces: Record<string, string> }> {
  const raw = toHistoryJson(await h.fetchHistory());
  const decodedTexts: string[] = [];
  const decoded = await mapPayloads(raw, async (p) => {
    const d = await decodePayload(codec, p);
    decodedTexts.push(dataText(d));
    return d;
  });
  return {
    raw,
    surfaces: {
      'raw history': JSON.stringify(raw),
      'decoded history': JSON.stringify(decoded),
      'decoded payload data': decodedTexts.join('\n'),
      'worker log': readFileSync(wp.logFile, 'utf8'),
      'audit trail': existsSync(wp.auditFile) ? readFileSync(wp.auditFile, 'utf8') : '',
      'worker stderr': wp.stderr(),
      'OTLP export (collector files)': (await waitForOtelOfRun((await h.describe()).runId)).text,
      'status query': JSON.stringify(await h.query(statusQuery)),
      // What `rotor status` and the UI show besides the status: description and the current-details markdown.
      describe: JSON.stringify(await h.describe(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      'UI current details': JSON.stringify(await h.query('__temporal_workflow_metadata')),
      'workflow outcome': outcome instanceof Error ? errorText(outcome) : JSON.stringify(outcome),
    },
  };
}

/**
 * A `patched()` marker: the SDK's core writes it itself, past the payload codec. Its one payload must
 * hold nothing but the patch id (a constant in workflows/) and the deprecated flag.
 */
function isPatchMarker(path: string, payload: JSONPayload): boolean {
  if (!path.includes('.markerRecordedEventAttributes.details.')) return false;
  const value: unknown = JSON.parse(dataText(payload));
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Object.keys(v).every((k) => k === 'id' || k === 'deprecated') &&
    typeof v['id'] === 'string' &&
    /^[a-z0-9-]+$/.test(v['id'])
  );
}

/** Raw payloads not encrypted by the codec, except search attributes (indexed by the server, never encryptable). */
function plaintextPayloads(raw: HistoryJson): string[] {
  return findPayloads(raw)
    .filter(({ path }) => !path.includes('.searchAttributes.indexedFields.'))
    .filter(({ path, payload }) => !isPatchMarker(path, payload))
    .filter(({ payload }) => encodingOf(payload) !== 'binary/encrypted')
    .map(({ path, payload }) => `${path}: ${encodingOf(payload)}`);
}

// --- Self-check: the scanner finds planted values, so a green run means "nothing leaked". ---

describe('leak scanner self-check', () => {
  const planted = `planted-${randomBytes(12).toString('base64url')}`;

  it('finds a value planted plain, as base64 or base64url at any alignment, or as hex', () => {
    expect(leaksIn(`x ${planted} y`, planted)).toEqual(['plain']);
    for (const prefix of ['', 'a', 'ab', 'user:']) {
      const b64 = Buffer.from(`${prefix}${planted}`).toString('base64');
      expect(leaksIn(`Basic ${b64}`, planted)).toContain('base64');
      expect(leaksIn(Buffer.from(`${prefix}${planted}?`).toString('base64url'), planted)).toContain('base64url');
    }
    expect(leaksIn(Buffer.from(planted).toString('hex'), planted)).toEqual(['hex']);
    expect(leaksIn('nothing to see here', planted)).toEqual([]);
  });

  it('finds a value inside an encrypted failure attribute only after decoding, and flags unencrypted payloads', async () => {
    const [encrypted] = await codec.encode([
      {
        metadata: { encoding: Buffer.from('json/plain') },
        data: Buffer.from(JSON.stringify({ message: `upstream echoed ${planted}` })),
      },
    ]);
    const encodedAttributes: JSONPayload = {
      metadata: { encoding: Buffer.from('binary/encrypted').toString('base64') },
      data: Buffer.from(encrypted?.data ?? new Uint8Array()).toString('base64'),
    };
    const plain: JSONPayload = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"x"').toString('base64'),
    };
    const marker = (v: object): JSONPayload => ({
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify({ ...v, deprecated: false })).toString('base64'),
    });
    const fake: HistoryJson = {
      events: [
        {
          eventId: '1',
          activityTaskFailedEventAttributes: { failure: { message: 'Encoded failure', encodedAttributes } },
        },
        { eventId: '2', activityTaskScheduledEventAttributes: { input: { payloads: [plain] } } },
        {
          eventId: '3',
          markerRecordedEventAttributes: { details: { patch_data: { payloads: [marker({ id: 'p-1' })] } } },
        },
        {
          eventId: '4',
          markerRecordedEventAttributes: {
            details: { patch_data: { payloads: [marker({ id: 'p-2', note: 'anything else' })] } },
          },
        },
      ],
    };
    expect(scan({ raw: JSON.stringify(fake) }, { planted })).toEqual([]);
    const texts: string[] = [];
    const decoded = await mapPayloads(fake, async (p) => {
      const d = await decodePayload(codec, p);
      texts.push(dataText(d));
      return d;
    });
    const found = scan({ decoded: JSON.stringify(decoded), data: texts.join('\n') }, { planted });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^planted value in decoded \(base64/);
    expect(found[1]).toBe('planted value in data (plain)');
    // A patch marker holding only a patch id passes; one carrying anything else is flagged.
    expect(plaintextPayloads(fake)).toEqual([
      '$.events.1.activityTaskScheduledEventAttributes.input.payloads.0: json/plain',
      '$.events.3.markerRecordedEventAttributes.details.patch_data.payloads.0: json/plain',
    ]);
  });
});

// --- Real rotations through a worker process. ---

const stores: [string, (v: string) => Promise<TestStore>][] = [
  ['aws', awsTestStore],
  ['vault', vaultTestStore],
];

describe.each(stores)('no secret value leaves the worker on %s', (kind, makeStore) => {
  let client: Client;
  let wp: WorkerProcess;
  let dir: string;
  const taskQueue = `no-leak-${kind}-${randomUUID()}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-no-leak-'));
    wp = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log') });
    client = await connectClient();
  });
  afterAll(async () => {
    await wp?.stop();
    await client?.connection.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs one rotation whose canary copies the credential it is given into `capture` (the test's own channel). */
  async function rotate(ts: TestStore, canaryScript: string, capture: string) {
    const playbook = testPlaybook(ts.store, {
      canaries: [{ type: 'command', name: 'capture', command: ['sh', '-c', canaryScript, capture] }],
    });
    const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'no-leak-test' };
    const h = await client.workflow.start('rotationWorkflow', {
      taskQueue,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [input],
    });
    return { h, out: await outcomeOf<RotationResult>(h) };
  }

  /** Guards against a vacuous pass: each surface was really collected (stderr may legitimately be empty). */
  function expectCollected(surfaces: Record<string, string>): void {
    const empty = Object.entries(surfaces)
      .filter(([name, t]) => name !== 'worker stderr' && t.length === 0)
      .map(([name]) => name);
    expect(empty).toEqual([]);
  }

  function expectEncryptedHistory(raw: HistoryJson): void {
    const payloads = findPayloads(raw);
    expect(payloads.length).toBeGreaterThan(10);
    expect(plaintextPayloads(raw)).toEqual([]);
    // The only unencrypted payloads are rotor's search attributes: names and phases.
    const attrs = new Set(
      payloads
        .filter(({ path }) => path.includes('.searchAttributes.indexedFields.'))
        .map(({ path }) => path.split('.').pop()),
    );
    // TemporalChangeVersion is Temporal's own: the SDK lists the workflow's patch ids there.
    expect(
      [...attrs].filter((a) => a === undefined || !(a in rotorSearchAttributes || a === 'TemporalChangeVersion')),
    ).toEqual([]);
  }

  it('a successful rotation: neither value in history (raw or decoded), log or status', async () => {
    const initial = randomBytes(24).toString('base64url');
    const ts = await makeStore(initial);
    const capture = join(dir, `success-${randomUUID()}`);
    const { h, out } = await rotate(ts, 'cat > "$0"', capture);
    expect(out.ok).toBe(true);
    const after = await ts.snapshot();
    const fresh = after.currentValue;
    expect(fresh.length).toBe(32);
    expect(fresh !== initial).toBe(true);
    expect(readFileSync(capture, 'utf8') === fresh).toBe(true);

    const { raw, surfaces } = await surfacesOf(h, wp, out.ok ? out.result : out.error);
    expectCollected(surfaces);
    expect(scan(surfaces, { old: initial, new: fresh })).toEqual([]);
    expectEncryptedHistory(raw);
    // Sanity: the scanner does see inside decoded payloads (the fingerprint is only there).
    const fp = out.ok ? out.result.current.fingerprint : '';
    expect(leaksIn(surfaces['decoded payload data'] ?? '', fp)).toContain('plain');
    expect(leaksIn(surfaces['raw history'] ?? '', fp)).toEqual([]);
  });

  it('a rolled-back rotation whose canary echoes the credential: neither value anywhere', async () => {
    const initial = randomBytes(24).toString('base64url');
    const ts = await makeStore(initial);
    const capture = join(dir, `rollback-${randomUUID()}`);
    // A misbehaving upstream: echoes the credential (plain and base64) in its error output, then fails.
    const { h, out } = await rotate(
      ts,
      'cat > "$0"; echo "rejected $(cat "$0") $(base64 < "$0")" >&2; exit 3',
      capture,
    );
    expect(out.ok).toBe(false);
    const discarded = readFileSync(capture, 'utf8');
    expect(discarded.length).toBe(32);
    expect((await ts.snapshot()).currentValue === initial).toBe(true);
    if (kind === 'aws') expect((await ts.readVersion(h.firstExecutionRunId)) === discarded).toBe(true);

    const { raw, surfaces } = await surfacesOf(h, wp, out.ok ? out.result : out.error);
    expectCollected(surfaces);
    expect(scan(surfaces, { old: initial, new: discarded })).toEqual([]);
    expectEncryptedHistory(raw);
    // Failure texts were encrypted (encodedAttributes), and the canary's output reached them redacted.
    const failures = findPayloads(raw).filter(({ path }) => path.endsWith('.encodedAttributes'));
    expect(failures.length).toBeGreaterThan(0);
    expect(surfaces['decoded payload data']).toContain('rejected [redacted] [redacted]');
  });
});
