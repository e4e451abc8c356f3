/**
 * The operator's view: the real Temporal Web UI of the local stack, in Debian's Chromium driven by
 * playwright-core. Finds a running rotation through its search attributes and checks the page shows
 * its phase and the per-cluster table (current details, decoded through rotor's codec server).
 * Saves screenshots under test-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { loadKey } from '../../adapters/keys';
import { ports } from '../../dev/local-stack/config';
import { AesGcmCodec } from '../../adapters/temporal/codec';
import { createCodecServer, uiOrigins } from '../../workers/codec-server';
import { depsFromEnv } from '../../workers/deps';
import { temporalSettings } from '../../adapters/temporal/connection';
import { abortUpdate, statusQuery } from '../../workflows/definitions';
import { kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';

const env = useStackEnv();
const chromiumPath = process.env['ROTOR_CHROMIUM'] ?? '/usr/bin/chromium';
const artifacts = 'test-results';
const base = stackKubeconfig();
const contexts = ['cluster-a', 'cluster-b', 'cluster-c'];

describe('Temporal Web UI', () => {
  let tw: TestWorker;
  let codecServer: Server;
  let browser: Browser;
  const namespace = `ui-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    if (!existsSync(chromiumPath))
      throw new Error(
        `Chromium not found at ${chromiumPath}: npm test installs Debian's 'chromium' package (or set ROTOR_CHROMIUM)`,
      );
    mkdirSync(artifacts, { recursive: true });
    // The dev server's UI was started with --ui-codec-endpoint pointing here.
    codecServer = createCodecServer({
      codec: new AesGcmCodec(loadKey('ROTOR_CODEC_KEY', env)),
      allowedOrigins: uiOrigins(temporalSettings().uiUrl),
    });
    await new Promise<void>((resolve, reject) => {
      codecServer.once('error', (e) => reject(new Error(`codec server port ${ports.codecServer}: ${e.message}`)));
      codecServer.listen(ports.codecServer, '127.0.0.1', resolve);
    });
    tw = await startTestWorker(createActivities(depsFromEnv()));
    for (const c of contexts)
      await kubeconfigFor(c, base)
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: namespace } } });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await tw?.close();
    codecServer?.close();
    for (const c of contexts) await purgeNamespace(kubeconfigFor(c, base), namespace).catch(() => undefined);
  });

  it('finds a rotation waiting for approval by its search attributes and shows its phase and per-cluster details', async () => {
    const ts = await awsTestStore('ui-initial-value');
    const playbook = testPlaybook(ts.store, {
      clusters: contexts.map((name) => ({ name, delivery: 'push' as const, namespace, secretName: 'ui-api-key' })),
      waves: [['cluster-a'], ['cluster-b', 'cluster-c']],
      approval: { beforeRevoke: true },
    });
    const secret = playbook.spec.secret.name;
    const workflowId = rotationWorkflowId(secret);
    const h = await tw.client.workflow.start('rotationWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId,
      args: [{ playbook, trigger: 'manual', requestedBy: 'ui-test' }],
      staticSummary: `rotate ${secret} (manual) by ui-test`,
    });
    try {
      await tw.run(async () => {
        // Three clusters in two waves, beside other test files: far more than the default 30 s on a loaded machine.
        await waitForPhase(h, 'approval', 180_000);
      });
      expect((await h.query(statusQuery)).phase).toBe('approval');

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const ui = temporalSettings().uiUrl;
      const query = `RotationPhase="approval" AND RotationSecret="${secret}"`;
      const row = page.getByText(workflowId, { exact: true }).first();
      // The list is read once per page load, from visibility, which follows the run's search
      // attributes a moment later: load it again until the row shows (a loaded machine is slower).
      for (let attempt = 1; ; attempt++) {
        await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
        const shown = await row.waitFor({ timeout: 15_000 }).then(
          () => true,
          (e: unknown) => {
            if (attempt >= 6) throw e;
            return false;
          },
        );
        if (shown) break;
      }
      await page.screenshot({ path: `${artifacts}/temporal-ui-list.png`, fullPage: true });

      await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${h.firstExecutionRunId}`);
      await page.getByText(workflowId, { exact: true }).first().waitFor({ timeout: 90_000 });
      // Current details (the stage list and per-cluster table) come from the running workflow,
      // decoded through the codec server; the UI shows them under User Metadata.
      await page
        .getByRole('link', { name: 'User Metadata' })
        .or(page.getByRole('tab', { name: 'User Metadata' }))
        .first()
        .click();
      // The UI renders the details' markdown inside an iframe: read every frame's text.
      const allText = async () =>
        (
          await Promise.all(
            page.frames().map((f) =>
              f
                .locator('body')
                .innerText()
                .catch(() => ''),
            ),
          )
        ).join('\n');
      let text = '';
      for (let i = 0; i < 60 && !/cluster-c\s+2\s+promoted/.test(text); i++) {
        await page.waitForTimeout(500);
        text = await allText();
      }
      await page.screenshot({ path: `${artifacts}/temporal-ui-workflow.png`, fullPage: true });
      expect(text).toMatch(/phase\s+approval/);
      expect(text).toContain('awaiting approval');
      for (const [i, c] of contexts.entries())
        expect(text).toMatch(new RegExp(`${c}\\s+${i === 0 ? 1 : 2}\\s+promoted`));
    } finally {
      await h.executeUpdate(abortUpdate, { args: [{ by: 'ui-test', reason: 'test done' }] }).catch(() => undefined);
      await tw.run(() => h.result().catch(() => undefined));
    }
  });
});
