import type { V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding } from '@kubernetes/client-node';
import { managedByLabel, resyncAnnotation } from '../core/ids';

/** A cluster-wide ValidatingAdmissionPolicy and its binding, applied beside the Role in each cluster. */
/** The worker's ServiceAccount in a cluster (the same shape as `Subject`). */
type Subject = { serviceAccount: string; namespace: string };

export interface PodPatchPolicy {
  policy: V1ValidatingAdmissionPolicy;
  binding: V1ValidatingAdmissionPolicyBinding;
}

/** The policy's (and binding's) name for one rotor identity: one per ServiceAccount, shared by its playbooks. */
export function podPatchPolicyName(subject: Subject): string {
  return `rotor-pod-resync-only.${subject.namespace}.${subject.serviceAccount}`;
}

/** The apiserver's username for the worker's ServiceAccount. */
export const usernameOf = (subject: Subject) => `system:serviceaccount:${subject.namespace}:${subject.serviceAccount}`;

/** CEL: a metadata field of `obj`, or `empty` when absent (absent and empty are the same to rotor). */
const field = (obj: 'object' | 'oldObject', name: string, empty: '{}' | '[]') =>
  `(has(${obj}.metadata.${name}) ? ${obj}.metadata.${name} : ${empty})`;

/** CEL: the update leaves this metadata field as it was. */
const unchanged = (name: string, empty: '{}' | '[]') =>
  `${field('object', name, empty)} == ${field('oldObject', name, empty)}`;

/** The denial's text, naming what the update tried to change. */
const onlyResync = (what: string) =>
  `rotor may only set the ${resyncAnnotation} annotation on pods, not change ${what}`;

/**
 * RBAC grants `patch` on pods whole; the consumer gate needs it only to set one annotation. This
 * policy denies rotor's identity any pod update that changes anything else: spec, labels, owners,
 * finalizers, or any other annotation (added, changed or removed). Status is not compared: the
 * apiserver ignores status in an update of the pod itself.
 */
export function podPatchPolicy(subject: Subject): PodPatchPolicy {
  const name = podPatchPolicyName(subject);
  return {
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels: managedByLabel },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['UPDATE'] }],
        },
        matchConditions: [
          { name: 'rotor-identity', expression: `request.userInfo.username == '${usernameOf(subject)}'` },
        ],
        variables: [
          { name: 'newAnnotations', expression: field('object', 'annotations', '{}') },
          { name: 'oldAnnotations', expression: field('oldObject', 'annotations', '{}') },
        ],
        validations: [
          { expression: 'object.spec == oldObject.spec', reason: 'Forbidden', message: onlyResync('their spec') },
          { expression: unchanged('labels', '{}'), reason: 'Forbidden', message: onlyResync('their labels') },
          {
            // Every other annotation kept with its value, none added, none removed.
            expression:
              `variables.newAnnotations.all(k, k == '${resyncAnnotation}' || (k in variables.oldAnnotations && variables.oldAnnotations[k] == variables.newAnnotations[k])) && ` +
              `variables.oldAnnotations.all(k, k == '${resyncAnnotation}' || k in variables.newAnnotations)`,
            reason: 'Forbidden',
            message: onlyResync('other annotations'),
          },
          {
            expression: `${unchanged('ownerReferences', '[]')} && ${unchanged('finalizers', '[]')}`,
            reason: 'Forbidden',
            message: onlyResync('their owners or finalizers'),
          },
        ],
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels: managedByLabel },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  };
}
