import { ApiException, AuthenticationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { BoundedKubeConfig } from '../../adapters/kubernetes/bounded-kubeconfig';
import { z } from 'zod';
import { resourceGroup, resourceVersion } from '../../core/resources';
import type { ApprovalAction, Condition } from '../../core/resources';
import { parseArgs } from '../args';
import { CliError, ExitCode } from '../exit-codes';
import { jsonLine, out } from '../output';

const kubeOptionsSchema = z.object({
  context: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  reason: z.string().min(1).optional(),
  json: z.boolean().default(false),
  /** Seconds to wait for rotor's controller to accept or deny; 0: do not wait. */
  timeout: z.coerce.number().min(0, '--timeout must be 0 or more seconds').default(60),
});

const requestOptionsSchema = kubeOptionsSchema.extend({
  emergency: z.boolean().default(false),
  compromised: z.boolean().default(false),
});

const count = (flag: string) =>
  z.coerce.number().int(`${flag} must be a whole number`).min(1, `${flag} must be 1 or more`);

const incidentOptionsSchema = kubeOptionsSchema.extend({
  reason: z.string({ error: '--reason is required: say why, for the audit trail' }).min(1),
  compromised: z.boolean().default(false),
  concurrency: count('--concurrency').optional(),
  perBackend: count('--per-backend').optional(),
});

/** The user's kubeconfig (KUBECONFIG, ~/.kube/config), at `--context` when given. */
function userKubeconfig(context: string | undefined): KubeConfig {
  const kc = new BoundedKubeConfig();
  kc.loadFromDefault();
  if (context) {
    if (!kc.getContextObject(context))
      throw new CliError(`rotor: --context ${context}: no such context in your kubeconfig`);
    kc.setCurrentContext(context);
  }
  return kc;
}

/**
 * Who the apiserver says this kubeconfig is (SelfSubjectReview): the name and groups rotor records,
 * so RBAC granted to a group counts too.
 */
async function whoAmI(kc: KubeConfig): Promise<{ name: string; groups: string[] }> {
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  const name = review.status?.userInfo?.username;
  if (!name) throw new CliError('rotor: the apiserver did not say who you are (SelfSubjectReview)');
  return { name, groups: review.status?.userInfo?.groups ?? [] };
}

const namespaceOf = (kc: KubeConfig, given: string | undefined) =>
  given ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';

type Plural = 'rotationrequests' | 'rotationapprovals' | 'rotationincidents';
const kinds = {
  rotationrequests: 'RotationRequest',
  rotationapprovals: 'RotationApproval',
  rotationincidents: 'RotationIncident',
} as const;
interface Created {
  metadata: { name: string };
  status?: { conditions?: Condition[]; uiLink?: string; workflowId?: string };
}

/** Creates the object as the user; an apiserver refusal becomes a CliError with its message. */
async function create(kc: KubeConfig, plural: Plural, namespace: string, body: object): Promise<Created> {
  try {
    return (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: resourceGroup,
      version: resourceVersion,
      plural,
      namespace,
      body,
    })) as Created;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string } | undefined;
    throw new CliError(`rotor: the apiserver refused it (HTTP ${e.code}): ${body?.message ?? ''}`);
  }
}

/** Waits until the controller accepted or denied the object; undefined when `seconds` pass first. */
async function verdict(kc: KubeConfig, plural: Plural, namespace: string, name: string, seconds: number) {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const obj = (await custom.getNamespacedCustomObject({
      group: resourceGroup,
      version: resourceVersion,
      plural,
      namespace,
      name,
    })) as Created;
    const c = obj.status?.conditions?.find(
      (x) => (x.type === 'Accepted' || x.type === 'Denied') && x.status === 'True',
    );
    if (c) return { condition: c, obj };
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

/** Prints what became of the object and returns the exit code: a denial is a usage error. */
async function report(
  kc: KubeConfig,
  plural: Plural,
  namespace: string,
  created: Created,
  json: boolean,
  timeout: number,
): Promise<ExitCode> {
  const name = created.metadata.name;
  const kind = kinds[plural];
  const v = timeout > 0 ? await verdict(kc, plural, namespace, name, timeout) : undefined;
  const fields = {
    kind,
    namespace,
    name,
    ...(v ? { condition: v.condition.type, reason: v.condition.reason, message: v.condition.message } : {}),
    ...(v?.obj.status?.uiLink ? { uiLink: v.obj.status.uiLink } : {}),
  };
  if (json) jsonLine({ event: 'created', ...fields });
  else {
    out(`created ${kind} ${namespace}/${name}`);
    if (v) out(`  ${v.condition.type}: ${v.condition.message}`);
    else if (timeout > 0)
      out(
        `  rotor's controller has not answered within ${timeout}s; see: kubectl get -n ${namespace} ${plural} ${name} -o yaml`,
      );
    if (v?.obj.status?.uiLink) out(`  ${v.obj.status.uiLink}`);
  }
  return v?.condition.type === 'Denied' ? ExitCode.usage : ExitCode.ok;
}

const apiVersion = `${resourceGroup}/${resourceVersion}`;

/** `rotor request <playbook>`: a RotationRequest in the playbook's namespace, as the kubeconfig's user. */
export async function requestRotation(playbook: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(requestOptionsSchema, raw);
  if (o.compromised && !o.emergency) throw new CliError('rotor: --compromised needs --emergency');
  const kc = userKubeconfig(o.context);
  const namespace = namespaceOf(kc, o.namespace);
  const created = await create(kc, 'rotationrequests', namespace, {
    apiVersion,
    kind: 'RotationRequest',
    metadata: { generateName: `${playbook}-` },
    spec: {
      playbookRef: playbook,
      mode: o.emergency ? 'emergency' : 'manual',
      compromised: o.compromised,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(await whoAmI(kc).then((me) => ({ requestedBy: me.name, requestedGroups: me.groups }))),
    },
  });
  return report(kc, 'rotationrequests', namespace, created, o.json, o.timeout);
}

/**
 * `rotor <approve|abort|skip-soak|retry|pause|resume> <request> --via-kube`, and `rotor incident
 * pause|resume|abort <incident> --via-kube` (`of: 'incident'`): a RotationApproval, as the kubeconfig's user.
 */
export async function decideViaKube(
  action: ApprovalAction,
  target: string,
  raw: Record<string, unknown>,
  of: 'request' | 'incident' = 'request',
): Promise<ExitCode> {
  const o = parseArgs(kubeOptionsSchema, raw);
  const kc = userKubeconfig(o.context);
  const namespace = namespaceOf(kc, o.namespace);
  const created = await create(kc, 'rotationapprovals', namespace, {
    apiVersion,
    kind: 'RotationApproval',
    metadata: { generateName: `${target}-${action}-` },
    spec: {
      ...(of === 'incident' ? { incidentRef: target } : { requestRef: target }),
      action,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(await whoAmI(kc).then((me) => ({ approvedBy: me.name, approvedGroups: me.groups }))),
    },
  });
  return report(kc, 'rotationapprovals', namespace, created, o.json, o.timeout);
}

/**
 * `rotor incident request <playbook>...`: a RotationIncident in the playbooks' namespace, as the
 * kubeconfig's user: rotor's controller starts their emergency rotations as one incident once the
 * user holds the emergency verb on each.
 */
export async function requestIncident(playbooks: string[], raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(incidentOptionsSchema, raw);
  const kc = userKubeconfig(o.context);
  const namespace = namespaceOf(kc, o.namespace);
  const created = await create(kc, 'rotationincidents', namespace, {
    apiVersion,
    kind: kinds.rotationincidents,
    metadata: { generateName: 'incident-' },
    spec: {
      playbookRefs: playbooks,
      reason: o.reason,
      compromised: o.compromised,
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.perBackend !== undefined ? { perBackend: o.perBackend } : {}),
      ...(await whoAmI(kc).then((me) => ({ requestedBy: me.name, requestedGroups: me.groups }))),
    },
  });
  return report(kc, 'rotationincidents', namespace, created, o.json, o.timeout);
}
