/**
 * JWKS ConfigMaps: the public keys of a `jwt-signing-key`, one ConfigMap per cluster target, read
 * and changed through each cluster's apiserver (adapters/kubernetes/configmap-key.ts).
 */
import type { JwksTarget } from '../../core/playbook/jwks-targets';
import { parseJwks } from '../credentials/jwk';
import type { Jwks } from '../credentials/jwk';
import type { KubeClients } from './clients';
import { describeConfigMapKey, readConfigMapKey, updateConfigMapKey } from './configmap-key';
import type { ConfigMapChange, ConfigMapKey } from './configmap-key';

/** Which ConfigMap and data key hold the JWKS (the playbook's `jwks`). */
export type JwksLocation = ConfigMapKey;

/** How messages name one target's JWKS: `configmap ns/name key k in cluster a (context x)`. */
export const describeJwks: (t: JwksTarget, at: JwksLocation) => string = describeConfigMapKey;

/** Reads one target's JWKS through its apiserver; undefined when the ConfigMap does not exist (empty without the key). */
export async function readJwks(kube: KubeClients, t: JwksTarget, at: JwksLocation): Promise<Jwks | undefined> {
  const read = await readConfigMapKey(kube, t, at);
  if (!read.exists) return undefined;
  return read.text === undefined ? { keys: [] } : parseJwks(read.text, describeJwks(t, at));
}

/** What `updateJwks` did to one target. */
export type JwksChange = ConfigMapChange;

const serialize = (jwks: Jwks) => JSON.stringify(jwks);

/**
 * Applies `change` to one target's JWKS (see `updateConfigMapKey`: created when `create`, a
 * concurrent writer read again). A JWKS whose keys do not change is left as written.
 */
export async function updateJwks(
  kube: KubeClients,
  t: JwksTarget,
  at: JwksLocation,
  change: (jwks: Jwks) => Jwks,
  o: { create: boolean },
): Promise<JwksChange> {
  return updateConfigMapKey(
    kube,
    t,
    at,
    (text) => {
      const before = text === undefined ? { keys: [] } : parseJwks(text, describeJwks(t, at));
      const after = serialize(change(before));
      return text !== undefined && after === serialize(before) ? text : after;
    },
    { create: o.create, what: 'JWKS' },
  );
}
