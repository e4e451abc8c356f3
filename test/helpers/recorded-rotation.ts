/**
 * What the credential-kind suites (JWT, Vault PKI leaf and CA rollover) share: a worker with a
 * fault switch and a fresh namespace in each cluster for the whole file, and a rotation run that
 * returns everything Temporal recorded, decrypted, so a test can prove no key reached it.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { createActivities } from '../../activities/index';
import { loadKey } from '../../adapters/keys';
import { AesGcmCodec } from '../../adapters/temporal/codec';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import type { faultSwitch } from './faults';
import { dataText, decodePayload, findPayloads, toHistoryJson } from './history';
import { recordRotation } from './history-recorder';
import { freshNamespace, purgeNamespace } from './kube';
import { testPlaybook } from './playbooks';
import type { TestStore } from './stores';
import { outcomeOf, startRotation, startTestWorker } from './worker';
import type { TestWorker } from './worker';

/** The run's history and every payload in it decrypted, as one text to search. */
export async function everythingRecorded(h: WorkflowHandle): Promise<string> {
  const codec = new AesGcmCodec(loadKey('ROTOR_CODEC_KEY'));
  const history = toHistoryJson(await h.fetchHistory());
  const payloads = await Promise.all(findPayloads(history).map((p) => decodePayload(codec, p.payload)));
  return [JSON.stringify(history), ...payloads.map(dataText)].join('\n');
}

/**
 * Registers the file's hooks: before all, a namespace `<label>-…` in each context (written into
 * `namespaces`) and a test worker whose activities go through `faults`; after all, the fault
 * cleared, the worker closed and the namespaces purged. `prepare` runs first (a PKI mount, say).
 */
export function useFleetWorker(o: {
  kcs: Record<string, KubeConfig>;
  namespaces: Record<string, string>;
  label: string;
  faults: ReturnType<typeof faultSwitch>;
  prepare?: () => Promise<unknown>;
}): () => TestWorker {
  let tw: TestWorker | undefined;
  const contexts = Object.keys(o.kcs);
  beforeAll(async () => {
    await o.prepare?.();
    for (const c of contexts) o.namespaces[c] = await freshNamespace(o.kcs[c]!, o.label);
    tw = await startTestWorker(o.faults.wrap(createActivities(depsFromEnv())));
  }, 180_000);
  afterAll(async () => {
    o.faults.state.fault = 'none';
    await tw?.close();
    await Promise.all(contexts.map((c) => purgeNamespace(o.kcs[c]!, o.namespaces[c]!).catch(() => undefined)));
  }, 120_000);
  return () => {
    if (!tw) throw new Error('the fleet worker is not started yet (use it inside a test)');
    return tw;
  };
}

/** One rotation to its end; `fixture` names the replay fixture it stands for (saved only while recording). */
export async function rotateRecorded(
  tw: TestWorker,
  spec: Partial<PlaybookInput['spec']>,
  ts: TestStore,
  fixture?: string,
) {
  const playbook = testPlaybook(ts.store, spec);
  return tw.run(async () => {
    const h = await startRotation(tw, playbook);
    const out = await outcomeOf(h);
    if (fixture) await recordRotation(h, fixture, ts);
    return { out, status: await h.query<RotationStatus>(statusQuery), recorded: await everythingRecorded(h) };
  });
}
