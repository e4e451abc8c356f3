import { z } from 'zod';
import { duration, timerDuration } from './duration';
import { crossCheck } from './cross-checks';
import { withJwksTargets } from './jwks-targets';
import { vaultPkiCaRolloverCredential, vaultPkiHandshakeCanary, withBundleTargets } from './vault-pki-ca';
import { awsSecretId, secretKey, storePath, vaultName } from './fields';

// Every field carries a description (`.describe`): dev/schemas.ts turns them into
// schemas/playbook.schema.json and docs/playbook-reference.md (`npm run schemas`).

const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 63 characters')
  .describe('A lowercase DNS label (a-z, 0-9, -), at most 63 characters.');

const vaultStore = z
  .strictObject({
    type: z.literal('vault').describe('A Vault KV v2 entry.'),
    mount: storePath.default('secret').describe('KV v2 mount, e.g. `secret`.'),
    path: storePath.describe('Path below the mount, e.g. `apps/payments/api-key`.'),
    key: z.string().min(1).default('value').describe('Field of the KV entry holding the credential.'),
  })
  .describe('Vault KV v2. KV v2 has no version labels: rotor keeps the current version in custom metadata.');

const awsStore = z
  .strictObject({
    type: z.literal('aws').describe('An AWS Secrets Manager secret.'),
    secretId: awsSecretId.describe('Secrets Manager secret name or ARN.'),
    key: z
      .string()
      .min(1)
      .optional()
      .describe(
        'When set, the secret string is a JSON object and the credential is this field; else the whole string.',
      ),
    region: z
      .string()
      .min(1)
      .optional()
      .describe("AWS region of the secret; by default the ARN's region or the worker's default region."),
    roleArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
        'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
      )
      .optional()
      .describe(
        "IAM role the worker assumes (STS AssumeRole, session `rotor-<secretId>`) for this store's calls, instead of using its own identity; the admin policy must list it for the tenant.",
      ),
  })
  .describe('AWS Secrets Manager. Versions move through AWSPENDING, AWSCURRENT and AWSPREVIOUS.');

export const storeSchema = z.discriminatedUnion('type', [vaultStore, awsStore]);

export const randomCredential = z
  .strictObject({
    kind: z.literal('random').describe('A random string, e.g. an API key or a signing key.'),
    length: z.number().int().min(16).max(4096).default(40).describe('Length in characters.'),
    charset: z
      .enum(['alphanumeric', 'hex', 'base64url', 'ascii-printable'])
      .default('alphanumeric')
      .describe('Characters it is drawn from.'),
  })
  .describe('A random string. It has no target system: the old value is revoked when the last cluster drops it.');

/** A PostgreSQL role name (at most 63 bytes; quoted as an identifier wherever rotor uses it). */
const pgRole = z.string().min(1).max(63).describe('A PostgreSQL role name.');
const port = z.number().int().min(1).max(65535);

/**
 * Two roles with the same grants take turns: each rotation gives the role not in use a new
 * password and LOGIN, and revoke locks the other one. The stored value is JSON `{"username","password"}`.
 */
export const postgresAlternatingUsersCredential = z
  .strictObject({
    kind: z.literal('postgres-alternating-users').describe('Two PostgreSQL roles that take turns.'),
    roles: z
      .tuple([pgRole, pgRole])
      .refine(([a, b]) => a !== b, 'the two roles must differ')
      .describe('The two roles; both must exist. Which one is current follows from the stored value.'),
    host: z.string().min(1).optional().describe('Server the roles log in to; PGHOST by default.'),
    port: port.optional().describe('Port of the server; PGPORT by default.'),
    database: z.string().min(1).optional().describe('Database the roles log in to; PGDATABASE by default.'),
    length: z.number().int().min(16).max(256).default(32).describe('Length of the new password in characters.'),
  })
  .describe(
    'Two roles with the same grants take turns: each rotation gives the role not in use a new password and LOGIN, and revoke locks the other one. The stored value is JSON `{"username","password"}`.',
  );

/** A MariaDB/MySQL user name (the part before `@`); MariaDB allows 80 characters, MySQL 32. */
const mariadbUser = z
  .string()
  .regex(/^[A-Za-z0-9_$.-]{1,80}$/, 'must be a user name of letters, digits, _ $ . - (at most 80)')
  .describe('A MariaDB/MySQL user name (the part before `@`).');

/**
 * MariaDB or MySQL users. By default two users with the same grants take turns, as for
 * PostgreSQL; with `retainCurrentPassword` (MySQL 8.0.14+ only, detected from the server) one user
 * holds the old and the new password at once. The stored value is JSON `{"username","password"}`.
 */
export const mariadbUsersCredential = z
  .strictObject({
    kind: z.literal('mariadb-users').describe('MariaDB or MySQL users.'),
    users: z
      .array(mariadbUser)
      .min(1)
      .max(2)
      .describe(
        'Two users with the same grants that take turns; exactly one with `retainCurrentPassword`. Which one is current follows from the stored value.',
      ),
    userHost: z
      .string()
      .regex(/^[A-Za-z0-9_.%:-]{1,255}$/, "must be an account host part such as '%', 'localhost' or '10.0.0.%'")
      .default('%')
      .describe("The accounts' host part (`'<user>'@'<userHost>'`)."),
    retainCurrentPassword: z
      .boolean()
      .default(false)
      .describe(
        "MySQL 8.0.14+ dual passwords: create sets the new password with `RETAIN CURRENT PASSWORD`, revoke runs `DISCARD OLD PASSWORD`. Refused at create on a server without them (MariaDB, older MySQL), detected from the server's version.",
      ),
    host: z.string().min(1).optional().describe('Server the users log in to; ROTOR_MARIADB_HOST by default.'),
    port: port.optional().describe('Port of the server; ROTOR_MARIADB_PORT by default.'),
    database: z.string().min(1).optional().describe('Database the proof logins select; none by default.'),
    length: z.number().int().min(16).max(256).default(32).describe('Length of the new password in characters.'),
  })
  .superRefine((c, ctx) => {
    if (c.retainCurrentPassword && c.users.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['users'],
        message: 'with retainCurrentPassword give exactly one user: it holds both passwords',
      });
    if (!c.retainCurrentPassword && (c.users.length !== 2 || c.users[0] === c.users[1]))
      ctx.addIssue({
        code: 'custom',
        path: ['users'],
        message: 'give two different users that take turns (or one user with retainCurrentPassword: true)',
      });
  })
  .describe(
    'MariaDB or MySQL users. By default two users with the same grants take turns: create gives the one not in use a new password and unlocks it, revoke locks the other one (unknown password, ACCOUNT LOCK) and proves its login refused. With `retainCurrentPassword` one MySQL 8 user holds both passwords until revoke discards the old one. The stored value is JSON `{"username","password"}`.',
  );

/**
 * An IAM user's access key. IAM allows two keys per user, so the new key overlaps the old one until
 * revoke. The stored value is JSON `{"accessKeyId","secretAccessKey"}`.
 */
export const awsIamAccessKeyCredential = z
  .strictObject({
    kind: z.literal('aws-iam-access-key').describe("An IAM user's access key."),
    userName: z
      .string()
      .regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM user name')
      .describe('IAM user whose access key rotates.'),
    revoke: z
      .enum(['deactivate', 'delete'])
      .default('deactivate')
      .describe(
        "What revoke does to the old key: `deactivate` (it is deleted by the next rotation's create, which needs the slot) or `delete` at once (no way back).",
      ),
    proofTimeout: timerDuration()
      .default(60_000)
      .describe(
        'How long revoke keeps asking STS until the old key is refused; IAM changes are eventually consistent.',
      ),
  })
  .describe(
    'IAM allows two keys per user, so the new key overlaps the old one until revoke. The stored value is JSON `{"accessKeyId","secretAccessKey"}`.',
  );

const databaseMount = storePath.default('database').describe("Mount of Vault's database secrets engine.");
const databaseConnection = vaultName.describe(
  "The engine's connection (`<mount>/config/<connection>`) the role must belong to; revoke proves against it.",
);

/**
 * A static role of Vault's database secrets engine: Vault owns the password and rotates it. There
 * is no overlap: the old password stops working when create rotates it. The stored value is JSON
 * `{"username","password"}` as read from `<mount>/static-creds/<role>`.
 */
export const vaultDatabaseStaticRoleCredential = z
  .strictObject({
    kind: z.literal('vault-database-static-role').describe("A static role of Vault's database secrets engine."),
    mount: databaseMount,
    role: vaultName.describe('The static role (`<mount>/static-roles/<role>`).'),
    connection: databaseConnection,
  })
  .describe(
    'Vault owns the password and rotates it. There is no overlap: the old password stops working when create rotates it. The stored value is JSON `{"username","password"}` as read from `<mount>/static-creds/<role>`.',
  );

/**
 * A dynamic role of Vault's database secrets engine (PostgreSQL connections): each rotation reads
 * `<mount>/creds/<role>`, which makes a new database user under a new lease. The stored value is
 * `{"username","password","leaseId"}`; revoke revokes the old lease (Vault drops that user).
 */
export const vaultDatabaseDynamicRoleCredential = z
  .strictObject({
    kind: z.literal('vault-database-dynamic-role').describe("A dynamic role of Vault's database secrets engine."),
    mount: databaseMount,
    role: vaultName.describe(
      'The role (`<mount>/roles/<role>`); its max_ttl must outlast the rotation interval plus the overlap.',
    ),
    connection: databaseConnection,
  })
  .describe(
    'PostgreSQL connections: each rotation reads `<mount>/creds/<role>`, which makes a new database user under a new lease. The stored value is `{"username","password","leaseId"}`; revoke revokes the old lease (Vault drops that user).',
  );

/** A Redis ACL user name: no spaces or control characters (Redis splits ACL rules on them). */
const redisUser = z
  .string()
  .regex(/^[!-~]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces')
  .describe('A Redis ACL user name.');
const redisHost = z.string().min(1).describe('Host name or address of the Redis server.');
const redisPort = port.default(6379).describe('Port of the Redis server.');
const redisTls = z
  .boolean()
  .default(false)
  .describe("Connect with TLS, verifying the server against the worker's ROTOR_REDIS_CACERT (or the system CAs).");

/**
 * A Redis (6+) or Valkey ACL user: the user holds several passwords at once, so the new one
 * overlaps the old one on the same user. The stored value is JSON `{"username","password"}`.
 */
export const redisAclUserCredential = z
  .strictObject({
    kind: z.literal('redis-acl-user').describe('A Redis ACL user with several passwords.'),
    user: redisUser.describe('The ACL user whose password rotates; it must exist and be `on`, without `nopass`.'),
    host: redisHost,
    port: redisPort,
    tls: redisTls,
    length: z.number().int().min(16).max(256).default(32).describe('Length of the new password in characters.'),
  })
  .describe(
    'Redis ACL users hold several passwords: create adds the new one (`ACL SETUSER <user> #<sha256>`, the `>password` rule without sending the password), so old and new both work; revoke removes the old one and proves `AUTH <user> <old>` is refused. Passwords of the user other than the current one are removed at create (leftovers of an earlier create). The stored value is JSON `{"username","password"}`.',
  );

/** Where one cluster's JWKS ConfigMap lives; rotor fills these in from `spec.clusters`. */
const jwksTarget = z
  .strictObject({
    cluster: name.describe('The `spec.clusters[].name` it was taken from.'),
    context: z.string().min(1).describe('kubeconfig context of that cluster.'),
    namespace: name.describe("That cluster's namespace."),
  })
  .describe('One JWKS ConfigMap: a cluster context and a namespace.');

/**
 * A JWT signing key pair (EdDSA Ed25519 or ES256). The stored value is the private key as a JWK
 * with its `kid` (the RFC 7638 thumbprint); the public keys are published as a JWKS in a ConfigMap
 * of every cluster of the playbook, in that cluster's namespace.
 */
export const jwtSigningKeyCredential = z
  .strictObject({
    kind: z.literal('jwt-signing-key').describe('A JWT signing key pair with its JWKS.'),
    algorithm: z
      .enum(['EdDSA', 'ES256'])
      .default('EdDSA')
      .describe('JWS algorithm of the new key: `EdDSA` (Ed25519) or `ES256` (P-256).'),
    maxTokenLifetime: duration
      .refine((ms) => ms > 0, 'must be longer than 0; write e.g. 1h')
      .describe(
        'The longest lifetime (`exp - iat`) of a token the signers issue. The old public key stays published until one such lifetime after signing with it stopped, so `spec.soak` must be at least this long.',
      ),
    jwks: z
      .strictObject({
        configMap: name.describe(
          "ConfigMap holding the JWKS, in each cluster target's namespace; created when missing.",
        ),
        key: secretKey.default('jwks.json').describe('ConfigMap data key holding the JWKS JSON (`{"keys":[…]}`).'),
        targets: z
          .array(jwksTarget)
          .optional()
          .describe(
            'Filled in by rotor when the playbook is read: one per distinct context and namespace of `spec.clusters`. Anything written here is replaced.',
          ),
      })
      .describe('The JWKS ConfigMap verifiers read, published in every cluster of the playbook.'),
  })
  .describe(
    'A JWT signing key pair: create generates a new key pair with `jose` and publishes its public key beside the current one in the JWKS ConfigMap of every cluster; promote makes signers use the new private key; revoke removes the old public key from every JWKS and proves it gone by reading each back and verifying a token signed with the old key is refused. The stored value is the private key as a JWK with `kid`.',
  );

/** A DNS name a certificate may carry: lowercase labels, optionally a leading `*.` wildcard label. */
const dnsName = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a lowercase DNS name (labels of a-z, 0-9, -), optionally starting with *.',
  )
  .describe('A lowercase DNS name, optionally starting with `*.`.');

/**
 * A TLS leaf certificate issued by Vault's PKI engine (`<mount>/issue/<role>`). The stored value is
 * JSON `{"certificate","privateKey","caChain","serialNumber"}` (PEM); delivered as a
 * `kubernetes.io/tls` Secret. Old and new certificate chain to the same CA, so both are valid from
 * create until revoke puts the old serial on the CRL.
 */
export const vaultPkiCertificateCredential = z
  .strictObject({
    kind: z.literal('vault-pki-certificate').describe("A TLS leaf certificate from Vault's PKI engine."),
    mount: storePath.default('pki').describe("Mount of Vault's PKI secrets engine."),
    role: vaultName.describe('The PKI role the certificate is issued under (`<mount>/issue/<role>`).'),
    commonName: dnsName.describe("The certificate's common name; it is also a DNS subject alternative name."),
    altNames: z.array(dnsName).max(100).default([]).describe('Further DNS subject alternative names.'),
    // Not a timer (Vault holds it), so it may be longer than a Temporal timer.
    ttl: duration
      .refine((ms) => ms >= 60_000, 'must be at least 1m; write e.g. 30d')
      .default(30 * 86_400_000)
      .describe(
        "Lifetime of the new certificate (Vault caps it at the role's max_ttl); it must outlast the rotation interval plus the overlap.",
      ),
  })
  .describe(
    'A TLS leaf certificate from Vault\'s PKI engine: create issues a new key and certificate (`<mount>/issue/<role>`) without serving it; the cluster Secrets are `kubernetes.io/tls` (`tls.crt`, `tls.key`, `ca.crt` of the current version); revoke revokes the old serial (`<mount>/revoke`) and proves it on the CA\'s CRL, whose signature is checked. Undo revokes the new certificate. The stored value is JSON `{"certificate","privateKey","caChain","serialNumber"}`.',
  );

export const credentialSchema = z.discriminatedUnion('kind', [
  randomCredential,
  postgresAlternatingUsersCredential,
  awsIamAccessKeyCredential,
  vaultDatabaseStaticRoleCredential,
  vaultDatabaseDynamicRoleCredential,
  redisAclUserCredential,
  mariadbUsersCredential,
  jwtSigningKeyCredential,
  vaultPkiCertificateCredential,
  vaultPkiCaRolloverCredential,
]);

const delivery = z.enum(['eso', 'push', 'observe']).meta({
  description: 'How the new credential reaches the cluster.',
  // One per value, in order (the JSON Schema `enumDescriptions` editors show).
  enumDescriptions: [
    "External Secrets Operator (v0.20+): rotor pins the ExternalSecret's remote refs to the exact versions and triggers an immediate refresh.",
    'rotor server-side-applies the Secret (field manager `rotor`); the namespace must exist.',
    'rotor only verifies the Secret.',
  ],
});

const stageTimeout = (stage: string) => `How long ${stage} may take.`;

const clusterSchema = z.strictObject({
  name: name.describe('Cluster name as used in waves and reports.'),
  context: z.string().min(1).optional().describe('kubeconfig context; defaults to the name.'),
  delivery,
  namespace: name.describe('Namespace of the Secret (rotor does not create namespaces).'),
  secretName: name.describe('Kubernetes Secret that consumers read.'),
  externalSecrets: z
    .array(name)
    .optional()
    .describe('ExternalSecrets to refresh (eso delivery); discovered by remote ref when omitted.'),
  workloads: z
    .array(
      z
        .strictObject({
          kind: z.enum(['Deployment', 'StatefulSet']).describe('Kind of the workload.'),
          name: name.describe("The workload's name, in the cluster's namespace."),
        })
        .describe('A workload rotor rolls out once per rotation, at promote, and waits for.'),
    )
    .default([])
    .describe('Workloads that consume the Secret and must roll out once per rotation.'),
  timeout: timerDuration().optional().describe('Bound of each step on this cluster; `timeouts.verify` by default.'),
});

const canaryName = name.describe("The canary's name, unique in the playbook; used in reports.");
const canaryTimeout = 'How long the check may take.';

export const canarySchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('command').describe('A command hook on the worker host, sandboxed.'),
      name: canaryName,
      command: z
        .array(z.string().min(1))
        .min(1)
        .describe('argv of a hook that receives the credential on stdin and must exit 0. Never in argv or env.'),
      timeout: timerDuration().default(30_000).describe(canaryTimeout),
    })
    .describe(
      "Runs `command` on the worker host with the credential on stdin; it must exit 0. In the policy's `commandSandbox` (bubblewrap by default: uid 65534, read-only /usr, no network, none of the worker's files or processes); environment PATH, LANG, TZ, the policy's `canaryEnv` and HOME=/tmp.",
    ),
  z
    .strictObject({
      type: z.literal('http').describe('An HTTP request.'),
      name: canaryName,
      url: z.url().describe('URL to call.'),
      method: z.enum(['GET', 'POST', 'HEAD']).default('GET').describe('HTTP method.'),
      header: z
        .string()
        .min(1)
        .default('Authorization')
        .describe('Header carrying the credential; `{credential}` in the value is replaced by it.'),
      valueTemplate: z
        .string()
        .includes('{credential}')
        .default('Bearer {credential}')
        .describe("The header's value; must contain `{credential}`."),
      expectStatus: z.number().int().min(100).max(599).default(200).describe('Status the response must have.'),
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe(
      'Calls `url` with the credential in `header`; never follows redirects, never connects to link-local or metadata addresses.',
    ),
  z
    .strictObject({
      type: z.literal('postgres-login').describe('A PostgreSQL login.'),
      name: canaryName,
      host: z.string().min(1).optional().describe('Server to log in to; PGHOST by default.'),
      port: port.optional().describe('Port of the server; PGPORT by default.'),
      database: z.string().min(1).optional().describe('Database to log in to; PGDATABASE by default.'),
      query: z
        .string()
        .min(1)
        .default('select 1')
        .describe('Must succeed as the new role, e.g. a query on a table the application needs.'),
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe('Logs in with the credential JSON `{"username","password"}` and runs `query`.'),
  z
    .strictObject({
      type: z.literal('redis-auth').describe('A Redis AUTH and PING.'),
      name: canaryName,
      host: redisHost,
      port: redisPort,
      tls: redisTls,
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe('Authenticates with the credential JSON `{"username","password"}` (`AUTH`) and sends `PING`.'),
  z
    .strictObject({
      type: z.literal('mariadb-login').describe('A MariaDB/MySQL login.'),
      name: canaryName,
      host: z.string().min(1).optional().describe('Server to log in to; ROTOR_MARIADB_HOST by default.'),
      port: port.optional().describe('Port of the server; ROTOR_MARIADB_PORT by default.'),
      database: z.string().min(1).optional().describe('Database to log in to; none by default.'),
      query: z
        .string()
        .min(1)
        .default('select 1')
        .describe('Must succeed as the new user, e.g. a query on a table the application needs.'),
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe('Logs in with the credential JSON `{"username","password"}` and runs `query`.'),
  z
    .strictObject({
      type: z.literal('aws-sts').describe('An STS GetCallerIdentity call.'),
      name: canaryName,
      region: z.string().min(1).optional().describe("AWS region for STS; the SDK's default when omitted."),
      endpoint: z
        .url()
        .optional()
        .describe("STS endpoint; AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL or the SDK's default when omitted."),
      expectedArn: z.string().min(1).optional().describe('When set, the caller must be exactly this ARN.'),
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe('STS GetCallerIdentity with the credential JSON `{"accessKeyId","secretAccessKey"}`.'),
  z
    .strictObject({
      type: z.literal('jwt-verify').describe('A JWT signed with the new key, verified through a published JWKS.'),
      name: canaryName,
      cluster: z.string().min(1).describe('kubeconfig context of the cluster whose JWKS ConfigMap is read.'),
      namespace: name.describe('Namespace of the ConfigMap.'),
      configMap: name.describe("The JWKS ConfigMap (a `jwt-signing-key` playbook's `jwks.configMap`)."),
      key: secretKey.default('jwks.json').describe('ConfigMap data key holding the JWKS JSON.'),
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe(
      "Signs a short-lived JWT with the credential (a private JWK with `kid`) and verifies it through the JWKS as published in `cluster`'s ConfigMap, read through its apiserver; fails when the `kid` is not there.",
    ),
  z
    .strictObject({
      type: z.literal('tls-handshake').describe('A TLS handshake against the new certificate.'),
      name: canaryName,
      serverName: dnsName
        .refine((n) => !n.startsWith('*.'), 'must be a name a client connects to, not a wildcard')
        .describe('The name the client asks for (SNI) and checks the certificate against.'),
      timeout: timerDuration().default(10_000).describe(canaryTimeout),
    })
    .describe(
      "Serves the credential (a `vault-pki-certificate` value) from a short-lived TLS server on the worker's loopback and connects to it as a client that trusts only the value's CA chain (`ca.crt`) and expects `serverName`; fails when the key does not match, the chain does not verify or the name does not match. Nothing leaves the worker.",
    ),
  z
    .strictObject({
      type: z.literal('kubernetes-job').describe('A Kubernetes Job.'),
      name: canaryName,
      cluster: z.string().min(1).describe('kubeconfig context of the cluster that runs the Job.'),
      namespace: name.describe('Namespace the Job runs in.'),
      image: z.string().min(1).describe("Image of the Job's container."),
      command: z
        .array(z.string().min(1))
        .min(1)
        .describe(
          "argv of the Job's container; the credential is the file `<mountPath>/credential` (path also in ROTOR_CREDENTIAL_FILE).",
        ),
      mountPath: z
        .string()
        .regex(/^\/[^:]*$/, 'must be an absolute path')
        .default('/var/run/rotor')
        .describe('Absolute directory the credential file is mounted in (read-only).'),
      serviceAccountName: name
        .optional()
        .describe("The Job pod's service account; without it the pod gets no service-account token."),
      timeout: timerDuration()
        .default(300_000)
        .describe('How long the Job may run; the cluster kills it then (activeDeadlineSeconds).'),
    })
    .describe(
      'Runs `image` + `command` as a Job in `cluster`/`namespace`, with the new credential mounted as a file; one pod, no retries, restricted Pod Security profile.',
    ),
  vaultPkiHandshakeCanary,
]);

const stageTimeouts = z
  .strictObject({
    plan: timerDuration().default(60_000).describe(stageTimeout('plan')),
    create: timerDuration().default(120_000).describe(stageTimeout('create')),
    distribute: timerDuration().default(300_000).describe(stageTimeout('distribute')),
    verify: timerDuration().default(600_000).describe(stageTimeout('verify')),
    canary: timerDuration().default(300_000).describe(stageTimeout('the canaries')),
    promote: timerDuration().default(300_000).describe(stageTimeout('promote')),
    revoke: timerDuration()
      .default(300_000)
      .describe('Bound of one revoke attempt; when it runs out the run needs attention.'),
    gate: timerDuration()
      .default(300_000)
      .describe("Each consumer gate (before promote, before revoke): how long every cluster's consumers may take."),
  })
  .prefault({})
  .describe('Bound of each stage; emergency rotations halve them.');

/** The consumer gate before promote and before revoke (README: "The consumer gate"). */
const consumerGate = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Off only to measure what the gate prevents (bench:zero-downtime): revoke may then cut off consumers.'),
    settle: timerDuration()
      .default(10_000)
      .describe('After a pod is touched, how long a consumer that does not report what it read is given to resync.'),
  })
  .prefault({})
  .describe(
    'The consumer gate before promote and before revoke: touches the pods reading the Secret and waits for them.',
  );

const utcTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)');

/**
 * A rotation playbook as written in YAML. Parsing turns durations into milliseconds; the parsed
 * value is what workflows receive. It never holds secret values, only where they live.
 */
export const playbookSchema = z
  .strictObject({
    apiVersion: z.literal('rotor.dev/v1').describe('Version of the playbook format.'),
    kind: z.literal('RotationPlaybook').describe('What this file is.'),
    metadata: z
      .strictObject({
        name: name.describe("The playbook's name."),
        description: z.string().optional().describe('Free text for the people who read the playbook.'),
        labels: z
          .record(z.string().min(1), z.string())
          .optional()
          .describe('Free-form labels; an admin policy may select tenants by them.'),
      })
      .describe('Identifies the playbook.'),
    spec: z
      .strictObject({
        secret: z
          .strictObject({
            name: name.describe("The secret's name; the workflow id is `rotate/<name>`."),
            store: storeSchema.describe('Where the credential is stored, by `type`.'),
          })
          .describe('The secret that rotates and where it lives.'),
        credential: credentialSchema.describe(
          'What the credential is, by `kind`: each kind makes the new credential real at its target and, after revoke, proves the old one refused.',
        ),
        clusters: z
          .array(clusterSchema.describe('One Kubernetes Secret in one cluster.'))
          .default([])
          .describe('Kubernetes clusters that serve the secret; none when consumers read the store directly.'),
        waves: z
          .array(z.array(name).min(1))
          .optional()
          .describe(
            'Cluster names per wave; by default one wave with every cluster. The canaries run after the first.',
          ),
        dualRead: z
          .strictObject({
            currentKey: secretKey.default('value').describe('Secret key holding the current version.'),
            otherKey: secretKey
              .default('value-other')
              .describe('Secret key holding the other version (pending, then previous) during the overlap.'),
          })
          .prefault({})
          .describe('The Secret keys consumers read during the overlap.'),
        canaries: z
          .array(canarySchema)
          .default([])
          .describe('Checks of the new credential after the first wave; a failing one rolls the run back.'),
        maxParallelClusters: z
          .number()
          .int()
          .min(1)
          .max(500)
          .default(10)
          .describe('Clusters synced at once within a wave; bounds load on the apiservers and on Temporal.'),
        timeouts: stageTimeouts,
        consumerGate,
        soak: timerDuration({ zeroMeansNone: true })
          .default(0)
          .describe('Wait after promote, before revoke; 0 for none. `rotor skip-soak` ends it.'),
        approval: z
          .strictObject({
            beforeRevoke: z.boolean().default(false).describe('Revoke waits for `rotor approve`.'),
            timeout: timerDuration()
              .default(7 * 86_400_000)
              .describe('How long the gate waits; then the run alerts and rolls back (nothing was revoked yet).'),
          })
          .prefault({})
          .describe('A manual gate before revoke.'),
        needsAttention: z
          .strictObject({
            retryEvery: timerDuration()
              .default(15 * 60_000)
              .describe('Automatic retry interval while a step keeps failing (`rotor retry` retries at once).'),
            escalateAfter: timerDuration()
              .default(86_400_000)
              .describe('Unresolved this long: the run escalates (audit event `needs-attention-escalated`, status).'),
            maxHistoryEvents: z
              .number()
              .int()
              .min(100)
              .max(40_000)
              .default(5_000)
              .describe('The waiting run continues as new (carrying its state) past this many history events.'),
          })
          .prefault({})
          .describe('Past the point of no return a failing step retries and alerts instead of rolling back.'),
        schedule: z
          .strictObject({
            every: duration
              .refine((ms) => ms > 0, 'must be longer than 0; write e.g. 90d')
              .default(90 * 86_400_000)
              .describe('A schedule interval, not a timer: may be longer than 24.8 days.'),
            jitter: duration.default(0).describe('Random delay of each scheduled run; shorter than `every`.'),
            window: z
              .strictObject({
                start: utcTime.describe('When the window opens, HH:MM UTC.'),
                end: utcTime.describe('When the window closes, HH:MM UTC.'),
              })
              .optional()
              .describe(
                'Scheduled runs wait until this daily UTC window opens (e.g. 02:00–05:00); manual and emergency runs do not.',
              ),
          })
          .optional()
          .describe('Runs on a schedule (`rotor schedule sync`); none when omitted.'),
      })
      .describe('What rotates, where it is delivered and how carefully.'),
  })
  .superRefine(crossCheck)
  .transform(withJwksTargets)
  .transform(withBundleTargets)
  .describe(
    'A rotation playbook: where one secret lives, what kind of credential it is, which clusters serve it and how carefully to rotate it.',
  );

export type PlaybookInput = z.input<typeof playbookSchema>;
/** A validated playbook: durations in milliseconds, defaults filled in. */
export type Playbook = z.output<typeof playbookSchema>;
export type Store = z.output<typeof storeSchema>;
export type Credential = z.output<typeof credentialSchema>;
export type Canary = z.output<typeof canarySchema>;
export type ClusterTarget = Playbook['spec']['clusters'][number];
