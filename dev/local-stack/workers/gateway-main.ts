/**
 * The pod gateway of the stack's `workers` service as a process:
 * `node --import tsx dev/local-stack/workers/gateway-main.ts --dir <state>/workers/gateway`, where
 * `dir` holds the gateway's serving certificate (gateway.crt/.key). It forwards on cluster-a's node
 * gateway address, at the fixed ports `ports.workersGateway`, until SIGTERM.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ports, stackPaths } from '../config';
import { stackNode } from '../node/instance';
import { podGateway } from '../node/pod-gateway';
import { gatewayTargets } from './chart-release';

const { values } = parseArgs({ options: { dir: { type: 'string' } } });
if (!values.dir) {
  process.stderr.write('workers-gateway: --dir is required\n');
  process.exit(2);
}
const dir = values.dir;
const server = { cert: join(dir, 'gateway.crt'), key: join(dir, 'gateway.key') };
podGateway(
  stackNode(stackPaths().stateDir, 'cluster-a'),
  gatewayTargets(server, { listen: ports.workersGateway }),
).then(
  (gateway) => {
    const names = ['temporal', 'vault', 'cluster-a', 'cluster-b', 'cluster-c'];
    process.stdout.write(`workers-gateway: ${names.map((n) => `${n} at ${gateway.address(n)}`).join(', ')}\n`);
    process.once('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
  },
  (e: Error) => {
    process.stderr.write(`workers-gateway: ${e.message}\n`);
    process.exit(1);
  },
);
