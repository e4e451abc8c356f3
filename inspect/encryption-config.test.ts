import { describe, expect, it } from 'vitest';
import { EncryptionConfigError, checkEncryptionConfig } from './encryption-config';

const key = 'c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcy1sb25nISE=';
const config = (resources: string) => `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
${resources}`;
const aescbc = `      - aescbc: { keys: [{ name: k1, secret: ${key} }] }`;

describe('checkEncryptionConfig', () => {
  it.each([
    [
      'identity first',
      `  - resources: [secrets]\n    providers:\n      - identity: {}\n${aescbc}`,
      ['high encryption-identity-first'],
    ],
    ['secrets not covered', `  - resources: [configmaps]\n    providers:\n${aescbc}`, ['high encryption-not-covered']],
    [
      'aescbc with identity fallback',
      `  - resources: [secrets]\n    providers:\n${aescbc}\n      - identity: {}`,
      ['medium encryption-aescbc', 'info encryption-identity-fallback'],
    ],
    [
      'aesgcm',
      `  - resources: ['*.']\n    providers:\n      - aesgcm: { keys: [{ name: k, secret: ${key} }] }`,
      ['low encryption-aesgcm'],
    ],
    [
      'secretbox',
      `  - resources: ['*.*']\n    providers:\n      - secretbox: { keys: [{ name: k, secret: ${key} }] }`,
      ['info encryption-secretbox'],
    ],
    [
      'kms v1',
      `  - resources: [secrets]\n    providers:\n      - kms: { name: old, endpoint: unix:///kms.sock, cachesize: 100 }`,
      ['medium encryption-kms-v1'],
    ],
    [
      'kms v2',
      `  - resources: [secrets]\n    providers:\n      - kms: { apiVersion: v2, name: vault-kms, endpoint: unix:///kms.sock }`,
      ['info encryption-kms-v2'],
    ],
  ])('%s', (_, resources, expected) => {
    const findings = checkEncryptionConfig(config(resources), 'enc.yaml');
    expect(findings.map((f) => `${f.severity} ${f.check}`)).toEqual(expected);
    expect(JSON.stringify(findings)).not.toContain(key);
  });

  it('the first entry covering secrets decides', () => {
    const f = checkEncryptionConfig(
      config(
        `  - resources: [secrets]\n    providers:\n      - identity: {}\n  - resources: ['*.*']\n    providers:\n${aescbc}`,
      ),
      'enc.yaml',
    );
    expect(f.map((x) => x.check)).toEqual(['encryption-identity-first']);
  });

  it.each([
    ['not yaml', 'a: [', /not YAML/],
    ['wrong kind', 'apiVersion: apiserver.config.k8s.io/v1\nkind: Other\nresources: []', /kind/],
    ['providers missing', config('  - resources: [secrets]'), /resources\.0\.providers/],
  ])('rejects %s naming the problem', (_, text, message) => {
    expect(() => checkEncryptionConfig(text, 'enc.yaml')).toThrow(EncryptionConfigError);
    expect(() => checkEncryptionConfig(text, 'enc.yaml')).toThrow(message);
  });
});
