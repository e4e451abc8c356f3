/**
 * The `vault-pki-ca-rollover` abuses, end to end: a real worker with real activities under the
 * example two-team policy (dev/policy/two-teams.yaml) against the stack's Vault and apiservers. A
 * payments playbook tries to make rotor change CAs and trust bundles only the orders team may
 * touch: the orders team's PKI mount, an issuer named with the orders prefix in its own mount, the
 * orders role, the orders trust bundle (by name, and in the orders cluster), and handshake canaries
 * issuing through the orders role or another team's mount. The victims exist before the attack,
 * made with the stack's Vault root token the attacking rotation never holds. Each abuse is refused
 * at plan with the field and the rule, and every victim as Vault and the apiserver hold it equals
 * its state before; a last test shows the comparison reports a deliberate change. The payments
 * team's own CA still rolls over under the same policy.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CoreV1Api } from '@kubernetes/client-node';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { parseCaCert } from '../../adapters/credentials/vault-pki-ca-pem';
import { ensureVaultPkiCaMount } from '../../adapters/credentials/vault-pki-ca-setup';
import { pkiMount } from '../../adapters/credentials/vault-pki-ca-vault';
import type { PkiMount } from '../../adapters/credentials/vault-pki-ca-vault';
import { WorkflowErrorTypes } from '../../core/failures';
import type { Playbook, PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { ensureSharedNamespace, kubeconfigFor } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { changedVictims, changesBetween, kubeConfigMapProbe, snapshotVictims } from '../helpers/victims';
import type { Probe } from '../helpers/victims';
import { manualRotationOutcome, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const playbookFile = 'playbooks/payments/abuse-pki-ca.yaml';
const requestedBy = 'alice@laptop';
const env = useStackEnv();
const vault = vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
const suffix = randomBytes(3).toString('hex');
const own = pkiMount(vault, 'pki-rollover');
const ordersMount = pkiMount(vault, 'pki-rollover-orders');
/** As the policy names them. */
const ordersBundle = { context: 'cluster-c', namespace: 'orders', name: 'orders-ca' };
const paymentsBundle = { context: 'cluster-a', namespace: 'payments', name: 'payments-ca' };

let tw: TestWorker;
let victims: Record<string, Probe>;
let paymentsInitial = '';

/** Issuers of `pki` whose name starts with `prefix`: id, name, default, usage and a digest of the certificate. */
function issuersProbe(pki: PkiMount, prefix: string): Probe {
  return async () => {
    const issuers = (await pki.issuers()).filter((i) => i.name.startsWith(prefix));
    return Promise.all(
      issuers.map(async (i) => ({
        ...i,
        usage: await pki.usageOf(i.id),
        certificate: createHash('sha256')
          .update(await pki.certificateOf(i.id))
          .digest('hex')
          .slice(0, 16),
      })),
    );
  };
}

/** A root issuer named `name` in `pki`, its certificate PEM. */
async function makeIssuer(pki: PkiMount, name: string): Promise<string> {
  await pki.generateRoot({ name, commonName: name, keyType: 'ec', ttlSeconds: 30 * 86_400 });
  return `${parseCaCert(await pki.certificateOf(name), name).pem}\n`;
}

/** A bundle ConfigMap made afresh (the policy names it exactly) holding `pem`. */
async function freshBundle(b: { context: string; namespace: string; name: string }, pem: string): Promise<void> {
  const kc = kubeconfigFor(b.context);
  await ensureSharedNamespace(kc, b.namespace);
  const core = kc.makeApiClient(CoreV1Api);
  await core.deleteNamespacedConfigMap({ namespace: b.namespace, name: b.name }).catch(() => undefined);
  await core.createNamespacedConfigMap({
    namespace: b.namespace,
    body: { metadata: { name: b.name }, data: { 'ca.crt': pem } },
  });
}

beforeAll(async () => {
  await ensureVaultPkiCaMount(vault, 'pki-rollover', 'payments-leaf');
  await ensureVaultPkiCaMount(vault, 'pki-rollover-orders', 'orders-leaf');
  // The orders team's CA in its own mount (the default there) and its bundle in its cluster.
  const ordersPem = await makeIssuer(ordersMount, `orders-ca-${suffix}`);
  await ordersMount.setDefault((await ordersMount.issuerNamed(`orders-ca-${suffix}`))!.id);
  await freshBundle(ordersBundle, ordersPem);
  // An issuer named with the orders prefix in the payments mount, which payments may not touch.
  await makeIssuer(own, `orders-ca-${suffix}`);
  // Payments' own CA, the default of its mount, and its bundle.
  paymentsInitial = await makeIssuer(own, `payments-ca-${suffix}`);
  await own.setDefault((await own.issuerNamed(`payments-ca-${suffix}`))!.id);
  await freshBundle(paymentsBundle, paymentsInitial);
  victims = {
    "orders' issuers in pki-rollover-orders": issuersProbe(ordersMount, 'orders-ca-'),
    'the orders-prefixed issuers in pki-rollover': issuersProbe(own, 'orders-ca-'),
    "orders' trust bundle in cluster-c": kubeConfigMapProbe(
      kubeconfigFor(ordersBundle.context),
      ordersBundle.namespace,
      ordersBundle.name,
    ),
  };
  tw = await startTestWorker(createActivities(depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' })));
}, 180_000);

afterAll(async () => {
  await tw?.close();
});

async function run(playbook: Playbook) {
  return manualRotationOutcome(tw, { playbook, playbookFile, requestedBy });
}

type Spec = Partial<PlaybookInput['spec']>;
const cluster = {
  name: 'cluster-a',
  delivery: 'push' as const,
  namespace: 'payments',
  secretName: `payments-ca-${suffix}`,
};
const rollover = (c: Record<string, unknown> = {}, clusters = [cluster]): Spec => ({
  credential: {
    kind: 'vault-pki-ca-rollover',
    mount: 'pki-rollover',
    issuerPrefix: 'payments-ca',
    commonName: 'Payments CA',
    leafRole: 'payments-leaf',
    bundle: { configMap: paymentsBundle.name },
    ...c,
  },
  clusters,
});
const handshake = (c: Record<string, string>) => ({
  type: 'vault-pki-handshake' as const,
  name: 'tls',
  mount: 'pki-rollover',
  role: 'payments-leaf',
  cluster: 'cluster-a',
  namespace: 'payments',
  configMap: paymentsBundle.name,
  ...c,
});
const rule = 'tenants[payments].allow.vaultPkiCa';
const abuses: { abuse: string; spec: Spec; path: string; rule: string }[] = [
  {
    abuse: "rolls over the orders team's mount",
    spec: rollover({ mount: 'pki-rollover-orders', issuerPrefix: 'orders-ca' }),
    path: 'spec.credential.mount',
    rule,
  },
  {
    abuse: 'names the orders prefix in its own mount',
    spec: rollover({ issuerPrefix: 'orders-ca' }),
    path: 'spec.credential.issuerPrefix',
    rule,
  },
  {
    abuse: 'issues through the orders role',
    spec: rollover({ leafRole: 'orders-leaf' }),
    path: 'spec.credential.leafRole',
    rule,
  },
  {
    abuse: "publishes into the orders team's bundle by name",
    spec: rollover({ bundle: { configMap: ordersBundle.name } }),
    path: 'spec.clusters[0].namespace',
    rule,
  },
  {
    abuse: "publishes into the orders team's cluster and namespace",
    spec: rollover({}, [{ ...cluster, name: 'cluster-c', namespace: 'orders' }]),
    path: 'spec.clusters[0]',
    rule: 'tenants[payments].allow.clusters',
  },
  {
    abuse: 'points a handshake canary at the orders role and bundle',
    spec: {
      ...rollover(),
      canaries: [
        handshake({ role: 'orders-leaf', cluster: 'cluster-c', namespace: 'orders', configMap: ordersBundle.name }),
      ],
    },
    path: 'spec.canaries[0].role',
    rule,
  },
  {
    abuse: "issues canary leaves from another team's mount (the TLS leaf kind's pki)",
    spec: { ...rollover(), canaries: [handshake({ mount: 'pki' })] },
    path: 'spec.canaries[0].mount',
    rule,
  },
];

describe('a vault-pki-ca-rollover playbook cannot make rotor its deputy', () => {
  it.each(abuses)('refused before any change when it $abuse', async ({ spec, path, rule: r }) => {
    const before = await snapshotVictims(victims);
    const store = await awsTestStore(paymentsInitial, undefined, 'payments/');
    const out = await run(testPlaybook(store.store, spec));
    if (out.ok) throw new Error('rotated although the policy forbids it');
    const failure = (out.error as WorkflowFailedError).cause;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe(WorkflowErrorTypes.policyRefused);
    expect(failure?.message).toContain('refused by the rotor policy, nothing was changed');
    expect(failure?.message).toContain(`${path}`);
    expect(failure?.message).toContain(`policy rule ${r}`);
    expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
    expect((await store.snapshot()).currentValue === paymentsInitial).toBe(true);
  });
});

describe('under the same policy, what it allows', () => {
  it("rolls over the team's own CA, canaried with a handshake through its own bundle, every victim as it was", async () => {
    const before = await snapshotVictims(victims);
    const store = await awsTestStore(paymentsInitial, undefined, 'payments/');
    const out = await run(testPlaybook(store.store, { ...rollover(), canaries: [handshake({})] }));
    expect(out.ok ? undefined : out.error).toBeUndefined();
    expect((await store.snapshot()).currentValue === paymentsInitial).toBe(false);
    expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
  });
});

describe('the "nothing changed" comparison', () => {
  it("reports a deliberate change of an orders issuer's usage, and only that victim", async () => {
    const before = await snapshotVictims(victims);
    const id = (await ordersMount.issuerNamed(`orders-ca-${suffix}`))!.id;
    const usage = await ordersMount.usageOf(id);
    await ordersMount.setUsage(
      id,
      usage.filter((u) => u !== 'ocsp-signing'),
    );
    try {
      expect(changedVictims(changesBetween(before, await snapshotVictims(victims)))).toEqual([
        "orders' issuers in pki-rollover-orders",
      ]);
    } finally {
      await ordersMount.setUsage(id, usage);
    }
  });
});
