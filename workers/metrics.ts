import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditEvent } from '../workflows/audit';

/** Prometheus metrics of rotations, fed by the workflow's audit events. */
export class RotorMetrics {
  readonly registry = new Registry();
  private readonly started = new Counter({
    name: 'rotor_rotations_started_total',
    help: 'Rotations started',
    labelNames: ['trigger'],
    registers: [this.registry],
  });
  private readonly completed = new Counter({
    name: 'rotor_rotations_completed_total',
    help: 'Rotations that rotated',
    labelNames: ['trigger'],
    registers: [this.registry],
  });
  private readonly rolledBack = new Counter({
    name: 'rotor_rotations_rolled_back_total',
    help: 'Rotations rolled back or aborted',
    labelNames: ['trigger'],
    registers: [this.registry],
  });
  private readonly compensations = new Counter({
    name: 'rotor_compensations_total',
    help: 'Undo steps run, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly stageSeconds = new Histogram({
    name: 'rotor_stage_duration_seconds',
    help: 'Duration of rotation stages',
    labelNames: ['stage'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  private readonly convergence = new Histogram({
    name: 'rotor_cluster_convergence_seconds',
    help: 'Seconds from the start of a cluster step until the cluster read back the expected versions',
    labelNames: ['cluster'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly attention = new Counter({
    name: 'rotor_needs_attention_total',
    help: 'Times a rotation needed an operator',
    registers: [this.registry],
  });
  /** Secrets overdue for rotation; the worker refreshes it from ROTOR_PLAYBOOK_DIR (cli/overdue.ts). */
  readonly overdue = new Gauge({
    name: 'rotor_overdue_secrets',
    help: 'Secrets whose last rotation is older than their interval',
    registers: [this.registry],
  });
  private readonly clusterStarted = new Map<string, number>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'rotor_worker_' });
  }

  observe(e: AuditEvent, at: number): void {
    switch (e.event) {
      case 'rotation-started':
        this.started.inc({ trigger: e.trigger });
        break;
      case 'rotation-completed':
        this.completed.inc({ trigger: e.trigger });
        break;
      case 'rotation-rolled-back':
      case 'compensation-failed':
        this.rolledBack.inc({ trigger: e.trigger });
        break;
      case 'undo-completed':
      case 'undo-failed':
        this.compensations.inc({ result: e.event === 'undo-completed' ? 'ok' : 'failed' });
        break;
      case 'stage-completed':
        if (e.stage && e.durationMs !== undefined) this.stageSeconds.observe({ stage: e.stage }, e.durationMs / 1000);
        break;
      case 'needs-attention':
        this.attention.inc();
        break;
      case 'cluster-phase': {
        const key = `${e.secret}/${e.cluster ?? ''}`;
        if (e.phase === 'delivering') this.clusterStarted.set(key, at);
        const since = this.clusterStarted.get(key);
        if (
          e.cluster &&
          since !== undefined &&
          ['dual-read', 'promoted', 'revoked', 'rolled-back'].includes(e.phase ?? '')
        ) {
          this.convergence.observe({ cluster: e.cluster }, (at - since) / 1000);
          this.clusterStarted.delete(key);
        }
        break;
      }
      default:
        break;
    }
  }

  /** Serves `/metrics` on the port; the Temporal SDK's own metrics are on their own endpoint. */
  serve(port: number, host = '127.0.0.1'): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`metrics: cannot listen on ${host}:${port}: ${e.message}`)));
      server.listen(port, host, () => resolve(server));
    });
  }
}
