import { readFile, stat } from 'node:fs/promises';
import { loadKubeconfig } from '../../adapters/kubernetes/clients';
import { apiBlindSpots, encryptionBlindSpot, runDoctor } from '../../inspect/doctor';
import { EncryptionConfigError, checkEncryptionConfig } from '../../inspect/encryption-config';
import { renderReport, report } from '../../inspect/findings';
import type { Finding } from '../../inspect/findings';
import type { Playbook } from '../../core/playbook/schema';
import { withClient } from '../client';
import { CliError, ExitCode } from '../exit-codes';
import { fleetStatus } from '../../inspect/fleet';
import { out } from '../output';
import { loadPlaybookDirOrFail, loadPlaybookOrFail } from '../playbook-files';

const days = (ms: number) => `${Math.round(ms / 86_400_000)}d`;

/** Playbooks from files and directories, each file once. */
async function loadAll(paths: string[]): Promise<{ file: string; playbook: Playbook }[]> {
  const loaded: { file: string; playbook: Playbook }[] = [];
  for (const p of paths) {
    const isDir = await stat(p).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (isDir) loaded.push(...(await loadPlaybookDirOrFail(p)));
    else loaded.push({ file: p, playbook: await loadPlaybookOrFail(p) });
  }
  return loaded;
}

async function encryptionFindings(file: string): Promise<Finding[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CliError(`rotor: --encryption-config ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return checkEncryptionConfig(text, file);
  } catch (e) {
    if (e instanceof EncryptionConfigError) throw new CliError(`rotor: --encryption-config ${e.message}`);
    throw e;
  }
}

/**
 * `rotor doctor`: read-only checks of how the playbooks' Secrets are exposed. Exit 4 when any
 * finding is high severity, 0 otherwise.
 */
export async function doctor(paths: string[], opts: { json?: boolean; encryptionConfig?: string }): Promise<ExitCode> {
  const findings: Finding[] = [];
  const unseen = [...apiBlindSpots, encryptionBlindSpot(!!opts.encryptionConfig)];
  if (opts.encryptionConfig) findings.push(...(await encryptionFindings(opts.encryptionConfig)));
  const entries = await loadAll(paths.length || opts.encryptionConfig ? paths : ['playbooks']);
  if (entries.length) {
    const byName = new Map(entries.map((e) => [e.playbook.spec.secret.name, e]));
    const r = await runDoctor({
      playbooks: entries.map((e) => e.playbook),
      kubeconfig: loadKubeconfig(),
      overdue: (pbs) =>
        withClient((client) =>
          fleetStatus(
            client,
            pbs.flatMap((p) => byName.get(p.spec.secret.name) ?? []),
          ),
        ).then((fleet) =>
          fleet
            .filter((s) => s.overdue)
            .map((s) => ({
              secret: s.secret,
              reason: s.lastRotatedAt
                ? `last rotated ${s.lastRotatedAt}, interval ${days(s.intervalMs)}`
                : `never rotated (interval ${days(s.intervalMs)})`,
            })),
        ),
    });
    findings.push(...r.findings);
    unseen.push(...r.unseen);
  }
  const result = report(findings, unseen);
  out(opts.json ? JSON.stringify(result, null, 2) : renderReport(result));
  return result.summary.high ? ExitCode.findings : ExitCode.ok;
}
