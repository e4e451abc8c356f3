/**
 * rotor's controller (issue 24): watches RotationRequests, RotationApprovals and RotationIncidents
 * in the management cluster, starts rotations for requests and incidents and passes approvals on, and writes what happened back
 * to their status; with `scheduling`, it also keeps a Temporal Schedule per RotationPlaybook and
 * writes the playbook's Ready, next due and last rotation. Level-triggered: a watch event or the
 * resync timer runs one pass over every object not yet final; passes never overlap. Authority
 * comes from the apiserver: the requester and approver are the authenticated users the admission
 * policy wrote, their rights the RBAC verbs a SubjectAccessReview confirms, the tenant the
 * object's namespace.
 */
import { Watch } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { rotorResources } from '../../adapters/kubernetes/rotor-resources';
import { attestationKeys } from '../../adapters/controller-attestation';
import type { Keyring } from '../../adapters/keys';
import type { RotorObject, RotorPlural, RotorResources } from '../../adapters/kubernetes/rotor-resources';
import { resourceGroup, resourceVersion } from '../../core/resources';
import type { LastRotation } from '../../core/resources';
import { reconcileApproval } from './approvals';
import { reconcileIncident } from './incidents';
import { reconcilePlaybooks } from './playbooks';
import type { PlaybookScheduling } from './playbooks';
import { reconcileRequest } from './requests';
import type { ControllerDeps } from './deps';

export interface ControllerOptions {
  /** A kubeconfig of the management cluster, as rotor's own identity (reads, status, reviews). */
  kubeconfig: KubeConfig;
  client: Client;
  /** The task queue rotations start on: the workers'. */
  taskQueue: string;
  /** Time between passes without events; default 10 s. */
  resyncMs?: number;
  /** Only objects in these namespaces (default: every namespace). */
  namespaces?: readonly string[];
  /** Where a failing pass or watch is reported; default stderr. */
  onError?: (what: string, e: unknown) => void;
  resources?: RotorResources;
  /**
   * Keep RotationPlaybooks' schedules under this policy (the worker's): one controller per Temporal
   * namespace and set of management namespaces, as it deletes playbook schedules of `namespaces`
   * whose object it does not see. Off when not given.
   */
  scheduling?: PlaybookScheduling;
  /**
   * The worker's fingerprint keys, to vouch for the rotations and actions it passes on (a worker
   * under `identity: kubernetes` takes nothing else). Without them nothing is vouched for.
   */
  fingerprintKeys?: Keyring;
}

export interface Controller {
  /** Resolves after the next complete pass. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the controller; it runs until stopped. */
export function startController(o: ControllerOptions): Controller {
  const deps: ControllerDeps = {
    resources: o.resources ?? rotorResources(o.kubeconfig),
    client: o.client,
    taskQueue: o.taskQueue,
    ...(o.fingerprintKeys ? { attestationKeys: attestationKeys(o.fingerprintKeys) } : {}),
    ...(o.scheduling ? { policy: o.scheduling.policy } : {}),
  };
  const onError =
    o.onError ?? ((what, e) => process.stderr.write(`rotor controller: ${what}: ${(e as Error).message}\n`));
  const ended = new Map<string, LastRotation>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let waiters: (() => void)[] = [];

  const mine = (namespace: string) => !o.namespaces || o.namespaces.includes(namespace);
  const each = async (plural: RotorPlural, fn: (deps: ControllerDeps, obj: RotorObject) => Promise<void>) => {
    // A kind the apiserver lacks (a CRD an older chart did not install) holds up none of the others.
    const objects = await deps.resources.list(plural).catch((e: unknown) => {
      onError(`list ${plural}`, e);
      return [];
    });
    for (const obj of objects.filter((x) => mine(x.metadata.namespace))) {
      // One object failing (a conflict, Temporal busy) does not hold up the others; the next pass retries it.
      await fn(deps, obj).catch((e: unknown) => onError(`${plural} ${obj.metadata.namespace}/${obj.metadata.name}`, e));
    }
  };
  const pass = async () => {
    // Requests first: an approval of a request started in this pass is sent in the same pass.
    await each('rotationrequests', reconcileRequest);
    await each('rotationapprovals', reconcileApproval);
    await each('rotationincidents', reconcileIncident);
    // Playbooks last: their last rotation reads the requests this pass started.
    if (o.scheduling) await reconcilePlaybooks({ ...deps, scheduling: o.scheduling, ended }, mine, onError);
  };
  let busy = false;
  const kick = (): void => {
    if (stopped) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    running = (async () => {
      do {
        again = false;
        const done = waiters;
        waiters = [];
        await pass().catch((e: unknown) => onError('pass', e));
        for (const w of done) w();
      } while (again && !stopped);
      busy = false;
    })();
  };

  const aborts: AbortController[] = [];
  const watch = (plural: RotorPlural) => {
    if (stopped) return;
    void new Watch(o.kubeconfig)
      .watch(
        `/apis/${resourceGroup}/${resourceVersion}/${plural}`,
        {},
        () => kick(),
        (err: unknown) => {
          if (stopped) return;
          if (err) onError(`watch ${plural}`, err);
          // The apiserver ends watches now and then; start again after a breath.
          setTimeout(() => watch(plural), 1000);
        },
      )
      .then(
        (a) => aborts.push(a),
        (e: unknown) => {
          onError(`watch ${plural}`, e);
          setTimeout(() => watch(plural), 1000);
        },
      );
  };
  const watched: RotorPlural[] = ['rotationrequests', 'rotationapprovals', 'rotationincidents'];
  for (const p of o.scheduling ? [...watched, 'rotationplaybooks' as const] : watched) watch(p);
  const timer = setInterval(kick, o.resyncMs ?? 10_000);
  kick();

  return {
    settled: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        kick();
      }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const a of aborts) a.abort();
      for (const w of waiters) w();
      await running;
    },
  };
}
