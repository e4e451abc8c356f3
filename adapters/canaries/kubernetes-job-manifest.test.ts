import { describe, expect, it } from 'vitest';
import { buildCanaryJob, buildCanarySecret, canaryJobName } from './kubernetes-job';
import type { KubernetesJobCanary } from './kubernetes-job';
import { canarySchema } from '../../core/playbook/schema';

const canary = canarySchema.parse({
  type: 'kubernetes-job',
  name: 'db-smoke',
  cluster: 'cluster-a',
  namespace: 'payments',
  image: 'registry.example/db-smoke:1.2',
  command: ['/bin/check', '--file', '/var/run/rotor/credential'],
  timeout: '90s',
}) as KubernetesJobCanary;

describe('kubernetes-job canary manifests', () => {
  it('fills defaults: mount path and a five-minute timeout', () => {
    const minimal = canarySchema.parse({
      type: 'kubernetes-job',
      name: 'x',
      cluster: 'c',
      namespace: 'n',
      image: 'i',
      command: ['true'],
    }) as KubernetesJobCanary;
    expect(minimal.mountPath).toBe('/var/run/rotor');
    expect(minimal.timeout).toBe(300_000);
    expect(() => canarySchema.parse({ ...minimal, mountPath: 'relative' })).toThrow('must be an absolute path');
  });

  it('runs one pod once, killed by the cluster at the timeout, with the Secret mounted read-only', () => {
    const job = buildCanaryJob(canary, 'rotor-canary-db-smoke-abc123');
    expect(job.metadata).toMatchObject({
      name: 'rotor-canary-db-smoke-abc123',
      namespace: 'payments',
      labels: { 'app.kubernetes.io/managed-by': 'rotor', 'rotor.dev/canary': 'db-smoke' },
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 90, ttlSecondsAfterFinished: 600 });
    const pod = job.spec?.template.spec;
    expect(pod?.restartPolicy).toBe('Never');
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.containers).toEqual([
      {
        name: 'canary',
        image: 'registry.example/db-smoke:1.2',
        command: ['/bin/check', '--file', '/var/run/rotor/credential'],
        env: [{ name: 'ROTOR_CREDENTIAL_FILE', value: '/var/run/rotor/credential' }],
        volumeMounts: [{ name: 'credential', mountPath: '/var/run/rotor', readOnly: true }],
        securityContext: {
          allowPrivilegeEscalation: false,
          privileged: false,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
    ]);
    // The restricted Pod Security profile, at pod level too.
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.volumes).toEqual([
      { name: 'credential', secret: { secretName: 'rotor-canary-db-smoke-abc123', defaultMode: 0o444 } },
    ]);
  });

  it('uses the named service account (with its token) when one is given', () => {
    const pod = buildCanaryJob({ ...canary, serviceAccountName: 'db-smoke' }, 'j').spec?.template.spec;
    expect(pod?.serviceAccountName).toBe('db-smoke');
    expect(pod?.automountServiceAccountToken).toBeUndefined();
  });

  it('keeps the credential out of the Job: only the Secret, owned by the Job, holds it', () => {
    const credential = 'the-credential-value-0123456789';
    const job = buildCanaryJob(canary, 'rotor-canary-db-smoke-abc123');
    expect(JSON.stringify(job).includes(credential)).toBe(false);
    const secret = buildCanarySecret(canary, { ...job, metadata: { ...job.metadata, uid: 'uid-1' } }, credential);
    expect(secret.metadata?.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: 'rotor-canary-db-smoke-abc123', uid: 'uid-1' },
    ]);
    expect(secret.immutable).toBe(true);
    expect(Buffer.from(secret.data?.['credential'] ?? '', 'base64').toString() === credential).toBe(true);
  });

  it('names Jobs so that pod names and the job-name label stay within 63 characters', () => {
    const long = canaryJobName('a'.repeat(63), 'abc123');
    expect(long.length).toBeLessThanOrEqual(52);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(canaryJobName('db-smoke', 'abc123')).toBe('rotor-canary-db-smoke-abc123');
    expect(canaryJobName('db-smoke')).not.toBe(canaryJobName('db-smoke'));
  });
});
