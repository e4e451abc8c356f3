/**
 * The stack runs Vault and Temporal with TLS, and rotor verifies both: a worker that reaches Vault
 * only through the stack's Vault TLS listener (VAULT_CACERT = the stack's CA) and Temporal only
 * through the stack's mTLS front runs a rotation the CLI starts over the same front. With another
 * CA the worker refuses to start and the store adapter refuses every call, naming the address and
 * VAULT_CACERT, and the entry in Vault is unchanged. VAULT_SKIP_VERIFY turns verification off only
 * for a loopback Vault (the dev stack), never for another address.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PlaybookInput } from '../../core/playbook/schema';
import { ports, stackPaths, stackTlsEnv } from '../../dev/local-stack/config';
import { ensureLoopbackPki, loopbackPki } from '../../dev/local-stack/pki';
import type { LoopbackPki } from '../../dev/local-stack/pki';
import { temporalTlsFiles } from '../../dev/local-stack/services/temporal-tls';
import { vaultFromEnv } from '../../adapters/vault-client';
import { vaultBackend } from '../../adapters/vault';
import { runRotor } from '../helpers/cli';
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

const stack = useStackEnv();
const { ROTOR_VAULT_TLS_ADDR: vaultTlsAddr = '', ROTOR_VAULT_TLS_CACERT: vaultCa = '' } = stackTlsEnv();
const temporalPki = loopbackPki(temporalTlsFiles(stackPaths()).dir);
const taskQueue = `stack-tls-${randomUUID()}`;
let dir: string;
let otherCa: LoopbackPki;
let worker: WorkerProcess | undefined;

/**
 * A process that reaches Vault only at the TLS listener and Temporal only at the mTLS front; the
 * plaintext addresses of the stack are not in it.
 */
function tlsEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    ...stack,
    VAULT_ADDR: vaultTlsAddr,
    VAULT_CACERT: vaultCa,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporalTls}`,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: temporalPki.ca.cert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: temporalPki.client.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: temporalPki.client.key,
    ...over,
  };
}

/** A fresh KV entry, written over the plaintext listener, and its store (narrowed to Vault). */
async function vaultEntry(prefix: string) {
  const ts = await vaultTestStore(`${prefix}-${randomUUID()}`);
  if (ts.store.type !== 'vault') throw new Error('vaultTestStore made a non-Vault store');
  return { ts, store: ts.store };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotor-stack-tls-'));
  otherCa = await ensureLoopbackPki(join(dir, 'other'), 'rotor-test-other-ca');
});

afterAll(async () => {
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the stack's Vault and Temporal over TLS", () => {
  it('a worker and the CLI that reach both only over verified TLS run a Vault rotation', async () => {
    expect(vaultTlsAddr).toBe(`https://127.0.0.1:${ports.vaultTls}`);
    worker = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log'), env: tlsEnv() });
    const started = (await readFile(join(dir, 'worker.log'), 'utf8')).split('\n').find((l) => l.includes('started'));
    expect(started).toContain(`127.0.0.1:${ports.temporalTls} (namespace default; TLS`);
    expect(started).toContain(`"vault":"${vaultTlsAddr} (TLS, verified against VAULT_CACERT=${vaultCa})"`);

    // Seeded and inspected over the plaintext listener: the same Vault, another door.
    const ts = await vaultTestStore(`stack-tls-initial-${randomUUID()}`);
    const before = await ts.snapshot();
    const doc = parse(await readFile('playbooks/vault-api-key.yaml', 'utf8')) as PlaybookInput;
    const secret = `stack-tls-${randomUUID().slice(0, 8)}`;
    doc.metadata.name = secret;
    doc.spec.secret = { name: secret, store: ts.store };
    doc.spec.canaries = [];
    const file = join(dir, `${secret}.yaml`);
    await writeFile(file, stringify(doc));
    const r = await runRotor({ ...tlsEnv(), ROTOR_TASK_QUEUE: taskQueue }, 'rotate', file, '--wait', '--reason', 'tls');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`✔ rotated ${secret}`);
    const result = await ts.snapshot();
    const { state, expected } = await rotatedOnce(ts, before, result.currentVersion);
    expect(state).toEqual(expected);
  });

  it('with another CA the worker refuses to start and the store refuses every call; Vault is unchanged', async () => {
    const { ts, store: entry } = await vaultEntry('stack-tls-untouched');
    const before = { snapshot: await ts.snapshot(), versions: await ts.versionCount() };
    const wrong = tlsEnv({ VAULT_CACERT: otherCa.ca.cert });

    await expect(
      startWorkerProcess({ taskQueue: `${taskQueue}-wrong-ca`, logFile: join(dir, 'wrong-ca.log'), env: wrong }),
    ).rejects.toThrow(
      `rotor refuses Vault at ${vaultTlsAddr}: Vault's certificate does not verify against VAULT_CACERT=${otherCa.ca.cert}`,
    );

    // Node's process-wide switch does not turn it off either: rotor's Vault agent verifies explicitly.
    await expect(
      startWorkerProcess({
        taskQueue: `${taskQueue}-node-tls`,
        logFile: join(dir, 'node-tls.log'),
        env: { ...wrong, NODE_TLS_REJECT_UNAUTHORIZED: '0' },
      }),
    ).rejects.toThrow(`rotor refuses Vault at ${vaultTlsAddr}`);

    // What the worker's activities would do with that client: refused before any request reaches Vault.
    const store = vaultBackend(vaultFromEnv(wrong));
    const rotation = { workflowId: `rotate/${randomUUID()}`, runId: randomUUID() };
    const refused = new RegExp(
      `failed to read metadata: Vault's certificate does not verify against VAULT_CACERT=${otherCa.ca.cert} \\(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
    );
    await expect(store.plan(entry, rotation)).rejects.toThrow(refused);
    await expect(
      store.createPending(entry, rotation, before.snapshot.currentVersion, () => Promise.resolve('x')),
    ).rejects.toThrow(refused);
    expect({ snapshot: await ts.snapshot(), versions: await ts.versionCount() }).toEqual(before);
  });

  it('verifies against VAULT_CAPATH, a directory of CA files, as well', async () => {
    const { store: entry } = await vaultEntry('stack-tls-capath');
    const capath = join(dir, 'capath');
    await mkdir(capath);
    await copyFile(otherCa.ca.cert, join(capath, 'other.pem'));
    const env = { VAULT_ADDR: vaultTlsAddr, VAULT_TOKEN: stack['VAULT_TOKEN'], VAULT_CAPATH: capath };
    await expect(vaultFromEnv(env).read(`secret/metadata/${entry.path}`)).rejects.toThrow(/certificate/);
    await copyFile(vaultCa, join(capath, 'stack.pem'));
    expect(await vaultFromEnv(env).read(`secret/metadata/${entry.path}`)).toHaveProperty('data');
  });

  it('VAULT_SKIP_VERIFY turns verification off for the loopback dev Vault only', async () => {
    const { store: entry } = await vaultEntry('stack-tls-skip');
    const noCa = { VAULT_ADDR: vaultTlsAddr, VAULT_TOKEN: stack['VAULT_TOKEN'] };
    // Without a CA the stack's certificate is not trusted, and "false" does not change that.
    await expect(
      vaultFromEnv({ ...noCa, VAULT_SKIP_VERIFY: 'false' }).read(`secret/metadata/${entry.path}`),
    ).rejects.toThrow(/certificate/);
    expect(
      await vaultFromEnv({ ...noCa, VAULT_SKIP_VERIFY: 'true' }).read(`secret/metadata/${entry.path}`),
    ).toHaveProperty('data');

    // Any other address: a startup error, for the worker and for every client rotor builds.
    const remote = 'https://vault.example.internal:8200';
    expect(() => vaultFromEnv({ VAULT_ADDR: remote, VAULT_SKIP_VERIFY: 'true' })).toThrow(
      `VAULT_SKIP_VERIFY=true is refused for VAULT_ADDR=${remote}`,
    );
    await expect(
      startWorkerProcess({
        taskQueue: `${taskQueue}-skip`,
        logFile: join(dir, 'skip.log'),
        env: tlsEnv({ VAULT_ADDR: remote, VAULT_SKIP_VERIFY: 'true' }),
      }),
    ).rejects.toThrow(`VAULT_SKIP_VERIFY=true is refused for VAULT_ADDR=${remote}`);
  });
});
