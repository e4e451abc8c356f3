import {
  ApiException,
  AuthorizationV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { resourceGroup, resourceVersion } from '../../core/resources';
import type { Condition, LastRotation } from '../../core/resources';
import type { SupersededRun } from '../../core/supersede';

/** rotor's resources, by plural name. */
export type RotorPlural = 'rotationplaybooks' | 'rotationrequests' | 'rotationapprovals' | 'rotationincidents';

/** Status rotor writes on its resources (the CRDs' `status`). */
export interface RotorStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  workflowId?: string;
  runId?: string;
  uiLink?: string;
  phase?: string;
  answer?: string;
  /** RotationRequest (emergency): the running rotation it superseded, and what became of it. */
  superseded?: SupersededRun;
  /** RotationPlaybook: the Temporal Schedule rotor keeps for it. */
  scheduleId?: string;
  /** RotationPlaybook: the schedule's next run (RFC 3339). */
  nextDue?: string;
  /** RotationPlaybook: its last rotation rotor knows of (scheduled or requested). */
  lastRotation?: LastRotation;
}

/** Status fields as a merge patch of the status writes them: null removes a field. */
export type RotorStatusPatch = { [K in keyof RotorStatus]?: RotorStatus[K] | null };

/** One of rotor's objects as the apiserver returns it; the spec is unchecked (parse it with zod). */
export interface RotorObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec?: unknown;
  status?: RotorStatus;
}

/** What RBAC says about one user and verb, from a SubjectAccessReview. */
export interface AccessReview {
  allowed: boolean;
  reason?: string | undefined;
}

/** An authenticated user as a RotationRequest or RotationApproval recorded them. */
export interface Requester {
  user: string;
  groups?: readonly string[] | undefined;
}

/** Reads and status writes of rotor's resources in the management cluster, and RBAC questions. */
export interface RotorResources {
  list(plural: RotorPlural): Promise<RotorObject[]>;
  /** The object, or undefined when it does not exist. */
  get(plural: RotorPlural, namespace: string, name: string): Promise<RotorObject | undefined>;
  /**
   * Replaces the fields of `status` given (merge patch of the status subresource), only while the
   * object is still at `resourceVersion` when given: a writer that read it earlier gets a conflict.
   */
  patchStatus(
    plural: RotorPlural,
    namespace: string,
    name: string,
    status: RotorStatusPatch,
    resourceVersion?: string,
  ): Promise<void>;
  /**
   * May `who` (a user name and, when the object recorded them, the groups the admission policy
   * checked) do `verb` on the RotationPlaybook `playbook` in `namespace`?
   */
  review(who: Requester, verb: string, namespace: string, playbook: string): Promise<AccessReview>;
}

const api = { group: resourceGroup, version: resourceVersion };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** {@link RotorResources} over a kubeconfig of the management cluster (rotor's own identity). */
export function rotorResources(kc: KubeConfig): RotorResources {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return {
    async list(plural) {
      const res = (await custom.listClusterCustomObject({ ...api, plural })) as { items?: RotorObject[] };
      return res.items ?? [];
    },
    async get(plural, namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({ ...api, plural, namespace, name })) as RotorObject;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    },
    async patchStatus(plural, namespace, name, status) {
      await custom.patchNamespacedCustomObjectStatus({ ...api, plural, namespace, name, body: { status } }, mergePatch);
    },
    async review({ user, groups }, verb, namespace, playbook) {
      const r = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user,
            ...(groups ? { groups: [...groups] } : {}),
            resourceAttributes: {
              group: resourceGroup,
              resource: 'rotationplaybooks',
              verb,
              namespace,
              name: playbook,
            },
          },
        },
      });
      return { allowed: r.status?.allowed === true, reason: r.status?.reason };
    },
  };
}
