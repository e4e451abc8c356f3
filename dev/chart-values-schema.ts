/**
 * The JSON Schema of the worker chart's values (deploy/helm/rotor/values.schema.json), which Helm
 * checks on every install, upgrade, lint and template. Its `policy` is rotor's own policy schema
 * (generated from core/policy/schema.ts), so a policy Helm accepts is one the worker loads.
 * Written by `npm run schemas` beside the other generated schemas.
 */
type Schema = Record<string, unknown>;

const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, maximum?: number): Schema => ({
  type: 'integer',
  description,
  minimum,
  ...(maximum !== undefined ? { maximum } : {}),
});
const bool = (description: string): Schema => ({ type: 'boolean', description });
const obj = (description: string, properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  description,
  properties,
  ...(required.length ? { required } : {}),
  additionalProperties: false,
});
const anyObject = (description: string): Schema => ({ type: 'object', description });
const list = (description: string, items: Schema = { type: 'object' }): Schema => ({
  type: 'array',
  description,
  items,
});
const dnsLabel = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const image = (description: string) =>
  obj(
    description,
    {
      repository: str('image repository', { minLength: 1 }),
      tag: str("tag; empty: the chart's appVersion"),
      digest: str('sha256 digest; wins over the tag', { pattern: '^(sha256:[a-f0-9]{64})?$' }),
      pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'], description: 'imagePullPolicy' },
    },
    ['repository'],
  );
const secretKey = (description: string) =>
  obj(description, { name: str('Secret name; empty: not used'), key: str('key in the Secret', { minLength: 1 }) });

/** The chart's values schema, with `policy` being rotor's policy JSON Schema. */
export function chartValuesSchema(policy: Schema): Schema {
  const { $schema: _schema, $id: _id, ...policyBody } = policy;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'rotor worker chart values',
    type: 'object',
    additionalProperties: false,
    required: ['replicaCount', 'image', 'taskQueue', 'temporal', 'vault', 'keys', 'policy'],
    properties: {
      replicaCount: int('Worker pods. No leader election: every replica polls the task queue.', 1),
      image: image('The worker image (npm run build:image).'),
      taskQueue: str('Temporal task queue (ROTOR_TASK_QUEUE)', { minLength: 1 }),
      versioning: obj('Worker Versioning (ROTOR_DEPLOYMENT_NAME, ROTOR_BUILD_ID).', {
        enabled: bool('register as a version of a Worker Deployment; rotations pinned to their build'),
        deploymentName: str('Worker Deployment name', { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
        buildId: str(
          "build id; empty: the hash of the image's workflow bundle. Given, the build has a Deployment of its own (<release>-rotor-<buildId>)",
          { pattern: '^([A-Za-z0-9][A-Za-z0-9._-]*)?$', maxLength: 63 },
        ),
        setCurrent: bool('make this build current once it polls (ROTOR_SET_CURRENT_VERSION)'),
        draining: list(
          'Earlier builds kept running for the rotations pinned to them, each as its own Deployment, until they drain; needs buildId',
          obj(
            'one earlier build',
            {
              buildId: str('its build id', { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 63 }),
              image: image('its image'),
              replicas: int('its worker pods', 1),
            },
            ['buildId', 'image'],
          ),
        ),
      }),
      temporal: obj(
        'The Temporal frontend.',
        {
          address: str('host:port', { minLength: 1 }),
          namespace: str('Temporal namespace', { minLength: 1 }),
          tls: obj('TLS to the frontend.', {
            enabled: bool('TLS on'),
            secretName: str('Secret with ca.crt (and tls.crt, tls.key for mTLS); empty: system CAs'),
            serverName: str('name to verify the server certificate against'),
            mtls: bool('present tls.crt/tls.key from the Secret'),
          }),
          apiKey: obj('Secret key holding a Temporal API key (sent as a bearer token; needs TLS).', {
            secretName: str('Secret name; empty: no API key'),
            key: str('key in the Secret', { minLength: 1 }),
          }),
        },
        ['address', 'namespace'],
      ),
      vault: obj(
        'Vault and how the worker logs in.',
        {
          address: str('VAULT_ADDR', { minLength: 1 }),
          caCert: obj('CA of Vault’s certificate (VAULT_CACERT).', {
            configMap: str('ConfigMap name; empty: system CAs'),
            key: str('key in the ConfigMap'),
          }),
          auth: obj(
            'Vault login.',
            {
              method: { enum: ['kubernetes', 'approle', 'token'], description: 'how the worker logs in' },
              kubernetes: obj('Kubernetes auth with a projected service-account token.', {
                role: str('Vault role', { minLength: 1 }),
                mount: str('auth mount path'),
                audience: str('audience of the projected token (the role’s `audience`)'),
                expirationSeconds: int('token lifetime; the kubelet renews it', 600, 86_400),
              }),
              approle: obj('AppRole.', {
                roleId: str('role id (not secret)'),
                mount: str('auth mount path'),
                secretIdSecret: secretKey('Secret key holding the secret id'),
              }),
              token: obj('Static token (development only).', { secret: secretKey('Secret key holding the token') }),
            },
            ['method'],
          ),
        },
        ['address', 'auth'],
      ),
      keys: obj(
        'Secret holding `codec-keys` and `fingerprint-keys` (id=key lines, newest first).',
        { secretName: str('Secret name', { pattern: dnsLabel }) },
        ['secretName'],
      ),
      policy: { ...policyBody, description: 'The admin policy (docs/policy.md), mounted as ROTOR_POLICY_FILE.' },
      kubeconfig: obj('Other clusters.', { secretName: str('Secret with key `kubeconfig`; empty: in-cluster only') }),
      serviceAccount: obj('The worker’s ServiceAccount.', {
        create: bool('create it'),
        name: str('its name', { pattern: dnsLabel }),
        annotations: anyObject('its annotations'),
      }),
      controller: obj(
        'rotor’s controller of RotationPlaybooks (their schedules), RotationRequests and RotationApprovals (ROTOR_CONTROLLER_CONTEXT).',
        {
          enabled: bool('run it in every worker replica; a Lease elects the one that acts'),
          context: str('the management cluster’s context in the worker’s kubeconfig'),
        },
      ),
      rbac: obj('Generated by `rotor rbac <playbook>… --helm-values`; do not edit by hand.', {
        roles: list(
          'per playbook, the Role bound to the chart’s ServiceAccount',
          obj(
            'one Role',
            { name: str('Role name'), namespace: str('namespace', { pattern: dnsLabel }), rules: list('rules') },
            ['name', 'namespace', 'rules'],
          ),
        ),
        admissionPolicies: list(
          'the ValidatingAdmissionPolicy (and binding) narrowing pod patches to the resync annotation',
          obj('one policy and its binding', { policy: anyObject('policy'), binding: anyObject('binding') }, [
            'policy',
            'binding',
          ]),
        ),
      }),
      requesterIdentityPolicy: obj('rotor’s requester-identity ValidatingAdmissionPolicy (cluster-wide).', {
        enabled: bool('render it; off where the cluster already has it (another release, the local stack)'),
      }),
      podDisruptionBudget: obj('PodDisruptionBudget.', {
        enabled: bool('create it'),
        maxUnavailable: int('pods a voluntary disruption may take at once', 1),
      }),
      networkPolicy: obj('NetworkPolicy.', {
        enabled: bool('create it'),
        egress: list('egress rules (NetworkPolicyEgressRule); empty: egress not restricted'),
        metricsFrom: list('peers (NetworkPolicyPeer) allowed to scrape the metrics port; empty: none'),
      }),
      metrics: obj('Prometheus metrics.', {
        port: int('rotor’s metrics port; the SDK’s is the next one', 1024, 65_534),
        serviceMonitor: obj('ServiceMonitor, only where its CRD is served.', {
          enabled: bool('create it'),
          interval: str('scrape interval', { pattern: '^[0-9]+(ms|s|m|h)$' }),
        }),
      }),
      health: obj('Probe endpoint (/livez, /readyz).', { port: int('port', 1024, 65_535) }),
      shutdown: obj('SIGTERM handling.', {
        graceSeconds: int('running activities may finish this long (ROTOR_SHUTDOWN_GRACE_S)', 0, 3600),
        forceSeconds: int('then the worker gives up waiting (ROTOR_SHUTDOWN_FORCE_S); > graceSeconds', 1, 3600),
      }),
      tuning: {
        type: 'object',
        description: 'Worker capacity variables (docs/production.md "Worker tuning").',
        propertyNames: {
          enum: [
            'ROTOR_MAX_CONCURRENT_ACTIVITIES',
            'ROTOR_MAX_CONCURRENT_WORKFLOW_TASKS',
            'ROTOR_MAX_CACHED_WORKFLOWS',
            'ROTOR_WORKFLOW_TASK_POLLERS',
            'ROTOR_ACTIVITY_TASK_POLLERS',
          ],
        },
        additionalProperties: { type: ['integer', 'string'] },
      },
      env: {
        type: 'object',
        description: 'Extra environment variables',
        additionalProperties: { type: ['string', 'number', 'boolean'] },
      },
      envFrom: list('envFrom sources'),
      resources: anyObject('container resources'),
      nodeSelector: anyObject('nodeSelector'),
      tolerations: list('tolerations'),
      affinity: anyObject('affinity'),
      hostAliases: list(
        'Extra /etc/hosts entries of the pods (the local stack maps kubernetes.default.svc to its node gateway)',
        obj(
          'one address and its names',
          { ip: str('IPv4 or IPv6 address'), hostnames: list('names', { type: 'string' }) },
          ['ip', 'hostnames'],
        ),
      ),
      topologySpread: bool('spread replicas over nodes'),
      podAnnotations: anyObject('pod annotations'),
      podLabels: anyObject('pod labels'),
    },
  };
}
