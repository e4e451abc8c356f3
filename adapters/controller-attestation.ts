/**
 * Controller attestations (issue 24, `identity: kubernetes`): rotor's controller vouches for the
 * rotations it starts and the operator actions it passes on, after the apiserver authenticated the
 * person and a SubjectAccessReview allowed them. The attestation is an HMAC under a key derived
 * from the fingerprint key (workers, and the controller in the worker process, hold it), never
 * from the codec key that every CLI holds: a codec-key holder can copy an attestation but not make
 * one. Each is bound to what it vouches for (the whole rotation input, or the action, its user and
 * the rotation's first run) and, for requests and actions, to a short time, so a copy serves no
 * other rotation and no later one.
 */
import { createHmac } from 'node:crypto';
import type { Keyring } from './keys';
import { derivedKeyring } from './keys';
import { canonicalJson, sameTag } from './admission-token';
import type { ControllerAttestation, OperatorAction, RotationInput } from '../core/status';

/** How long a request's or an action's attestation is good for after the controller made it. */
export const attestationValidityMs = 10 * 60_000;

/** The attestation keys: derived from the fingerprint keys under their own label. */
export function attestationKeys(fingerprintKeys: Keyring): Keyring {
  return derivedKeyring(fingerprintKeys, 'rotor controller attestation v1', 'controller attestation keys');
}

/** The fields of a rotation input an attestation covers: everything admission and the run read. */
export function attestedInput(input: RotationInput) {
  const { playbook, playbookFile, trigger, requestedBy, namespace, reason, emergency } = input;
  return { playbook, playbookFile, trigger, requestedBy, namespace, reason, emergency };
}

/** What one attestation vouches for. */
export type AttestedClaim =
  /** The rotation of the RotationRequest `requestUid`, started under `workflowId`. */
  | { kind: 'request'; workflowId: string; requestUid: string; input: ReturnType<typeof attestedInput> }
  /**
   * One target's rotation, `workflowId`, of the RotationIncident `requestUid`, whose run is
   * `incidentId`: only a child of that incident's run may use it.
   */
  | {
      kind: 'incident-rotation';
      incidentId: string;
      requestUid: string;
      workflowId: string;
      input: ReturnType<typeof attestedInput>;
    }
  /** What a RotationPlaybook's schedule starts; only that schedule's launcher may use it. */
  | { kind: 'schedule'; scheduleId: string; input: ReturnType<typeof attestedInput> }
  /** A RotationApproval's action on the rotation whose first run is `firstRunId`. */
  | {
      kind: 'action';
      action: string;
      workflowId: string;
      firstRunId: string;
      by: string;
      reason: string | undefined;
    };

function mac(key: Buffer, claim: AttestedClaim, issuedAt: number): string {
  return createHmac('sha256', key)
    .update(canonicalJson({ v: 1, issuedAt, ...claim }))
    .digest('base64url');
}

/** The controller's attestation of `claim`, under the newest key, made at `issuedAt`. */
export function attest(keys: Keyring, claim: AttestedClaim, issuedAt: number): ControllerAttestation {
  const { id, key } = keys.newest;
  return {
    keyId: id,
    issuedAt,
    ...(claim.kind === 'schedule' ? { scheduleId: claim.scheduleId } : {}),
    ...(claim.kind === 'request' ? { requestUid: claim.requestUid } : {}),
    ...(claim.kind === 'incident-rotation' ? { requestUid: claim.requestUid, incidentId: claim.incidentId } : {}),
    mac: mac(key, claim, issuedAt),
  };
}

/**
 * Why `att` does not vouch for `claim` (undefined: it does). `startedAt` is when the thing it is
 * used for began (the rotation's first run, its incident's first run, or now for an action); a schedule's attestation has no
 * time limit, its launcher is checked instead (activities/identity.ts).
 */
export function attestationProblem(
  keys: Keyring,
  att: ControllerAttestation | undefined,
  claim: AttestedClaim,
  startedAt: number,
): string | undefined {
  if (!att || typeof att !== 'object' || typeof att.mac !== 'string')
    return "it carries no attestation from rotor's controller";
  const key = keys.byId(String(att.keyId));
  if (!key) return `its attestation's key '${String(att.keyId)}' is not in ${keys.source}`;
  if (!sameTag(att.mac, mac(key, claim, Number(att.issuedAt))))
    return `its attestation does not vouch for this ${claim.kind === 'action' ? 'action' : 'rotation'} (made for another, or altered)`;
  if (claim.kind !== 'schedule' && Math.abs(startedAt - att.issuedAt) > attestationValidityMs)
    return `its attestation was made at ${new Date(att.issuedAt).toISOString()}, more than ${attestationValidityMs / 60_000} minutes from ${new Date(startedAt).toISOString()} (a copy of an old one)`;
  return undefined;
}

/** The claim an operator action makes about the rotation `workflowId` (first run `firstRunId`). */
export function actionClaim(
  action: string,
  workflowId: string,
  firstRunId: string,
  op: Pick<OperatorAction, 'by' | 'reason'>,
): AttestedClaim {
  return { kind: 'action', action, workflowId, firstRunId, by: op.by, reason: op.reason };
}
