/**
 * The operator's view: the real Temporal Web UI of the local stack, in Debian's Chromium driven by
 * playwright-core, decoding through the stack's own codec server (service `codec`, started by
 * `dev/stack up`; this test starts none). Opens run pages as the CLI and demo print them, and the
 * filtered list views of `rotor ui`. Saves screenshots under test-results/ (the operating guide
 * shows them: docs/img/).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { depsFromEnv } from '../../workers/deps';
import { uiLink, uiListLink } from '../../adapters/temporal/connection';
import { rotationViews } from '../../core/ui-views';
import { abortUpdate, statusQuery } from '../../workflows/definitions';
import { kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';

useStackEnv();
const chromiumPath = process.env['ROTOR_CHROMIUM'] ?? '/usr/bin/chromium';
const artifacts = 'test-results';
const base = stackKubeconfig();
const contexts = ['cluster-a', 'cluster-b', 'cluster-c'];

/** Every frame's text: the UI renders the current details' markdown inside an iframe. */
async function allText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) =>
      f
        .locator('body')
        .innerText()
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

/** What the UI shows when it cannot decode: the codec banner, or payloads still encrypted. */
function expectDecoded(text: string): void {
  expect(text).not.toMatch(/codec server could not connect/i);
  expect(text).not.toMatch(/binary\/encrypted/);
}

/**
 * Opens a run page and waits for its header. On a loaded machine the UI's first render sometimes
 * never arrives (seen once in a full run, 90 s without it): load it again, three times at most.
 */
async function openRunPage(page: Page, link: string, workflowId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.goto(link);
    const shown = await page
      .getByText(workflowId, { exact: true })
      .first()
      .waitFor({ timeout: 40_000 })
      .then(
        () => true,
        (e: unknown) => {
          if (attempt >= 3) throw e;
          return false;
        },
      );
    if (shown) return;
  }
}

async function openUserMetadata(page: Page): Promise<void> {
  await page
    .getByRole('link', { name: 'User Metadata' })
    .or(page.getByRole('tab', { name: 'User Metadata' }))
    .first()
    .click();
}

describe('Temporal Web UI', () => {
  let tw: TestWorker;
  let browser: Browser;
  const namespace = `ui-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    if (!existsSync(chromiumPath))
      throw new Error(
        `Chromium not found at ${chromiumPath}: npm test installs Debian's 'chromium' package (or set ROTOR_CHROMIUM)`,
      );
    mkdirSync(artifacts, { recursive: true });
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

  /** Starts a rotation as `rotor rotate` does (same id and summary), by the user `ui-test`. */
  async function startRotation(playbook: Playbook) {
    const secret = playbook.spec.secret.name;
    const workflowId = rotationWorkflowId(secret);
    const h = await tw.client.workflow.start('rotationWorkflow', {
      taskQueue: tw.taskQueue,
      workflowId,
      args: [{ playbook, trigger: 'manual', requestedBy: 'ui-test' }],
      staticSummary: `rotate ${secret} (manual) by ui-test`,
    });
    return { secret, workflowId, h };
  }

  afterAll(async () => {
    await browser?.close();
    await tw?.close();
    for (const c of contexts) await purgeNamespace(kubeconfigFor(c, base), namespace).catch(() => undefined);
  });

  it('finds a rotation waiting for approval by its search attributes and shows its phase and per-cluster details', async () => {
    const ts = await awsTestStore('ui-initial-value');
    const playbook = testPlaybook(ts.store, {
      clusters: contexts.map((name) => ({ name, delivery: 'push' as const, namespace, secretName: 'ui-api-key' })),
      waves: [['cluster-a'], ['cluster-b', 'cluster-c']],
      approval: { beforeRevoke: true },
    });
    const { secret, workflowId, h } = await startRotation(playbook);
    try {
      await tw.run(async () => {
        // Three clusters in two waves, beside other test files: far more than the default 30 s on a loaded machine.
        await waitForPhase(h, 'approval', 180_000);
      });
      expect((await h.query(statusQuery)).phase).toBe('approval');

      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      // The run's store lock is a workflow of its own, running now: the views must leave it out.
      const locks: string[] = [];
      for await (const w of tw.client.workflow.list({
        query: 'WorkflowType="storeLockWorkflow" AND ExecutionStatus="Running"',
      }))
        if (w.workflowId.includes(ts.store.type === 'aws' ? ts.store.secretId : secret)) locks.push(w.workflowId);
      expect(locks).toHaveLength(1);
      const views = new Map(rotationViews(new Date(), secret).map((v) => [v.name, uiListLink(v.query)]));
      const row = page.getByText(workflowId, { exact: true }).first();
      for (const view of ['history', 'running', 'rotations']) {
        // The list is read once per page load, from visibility, which follows the run's search
        // attributes a moment later: load it again until the row shows (a loaded machine is slower).
        for (let attempt = 1; ; attempt++) {
          await page.goto(views.get(view) ?? '');
          const shown = await row.waitFor({ timeout: 15_000 }).then(
            () => true,
            (e: unknown) => {
              if (attempt >= 6) throw e;
              return false;
            },
          );
          if (shown) break;
        }
        const listed = await allText(page);
        expect(listed, view).not.toContain('rotor-lock/');
        expect(listed, view).not.toContain(locks[0] ?? '?');
        if (view === 'rotations') await page.screenshot({ path: `${artifacts}/temporal-ui-list.png`, fullPage: true });
      }

      // The run page as `rotor rotate` and the demo print it.
      await openRunPage(page, uiLink(workflowId, h.firstExecutionRunId), workflowId);
      // The summary and the input, decoded by the stack's codec server.
      await page.getByText(`rotate ${secret} (manual) by ui-test`).first().waitFor({ timeout: 30_000 });
      const overview = await allText(page);
      expectDecoded(overview);
      expect(overview).toContain('requestedBy');
      // Current details (the stage list and per-cluster table) come from the running workflow,
      // decoded through the codec server; the UI shows them under User Metadata.
      await openUserMetadata(page);
      let text = '';
      for (let i = 0; i < 60 && !/cluster-c\s+2\s+promoted/.test(text); i++) {
        await page.waitForTimeout(500);
        text = await allText(page);
      }
      await page.screenshot({ path: `${artifacts}/temporal-ui-workflow.png`, fullPage: true });
      expectDecoded(text);
      expect(text).toMatch(/phase\s+approval/);
      expect(text).toContain('awaiting approval');
      expect(text).toMatch(new RegExp(`next:\\s+rotor approve ${secret}`));
      expect(text).toMatch(/\|\s*stage\s*\|\s*state|stage\s+state\s+time\s+detail/);
      for (const [i, c] of contexts.entries())
        expect(text).toMatch(new RegExp(`${c}\\s+${i === 0 ? 1 : 2}\\s+promoted`));
    } finally {
      await h.executeUpdate(abortUpdate, { args: [{ by: 'ui-test', reason: 'test done' }] }).catch(() => undefined);
      await tw.run(() => h.result().catch(() => undefined));
    }
  });

  it('shows a rolled-back run with its failure, the blocking cluster and what to do next, decoded', async () => {
    // cluster-c has no such namespace: distribute fails there after cluster-a and cluster-b took the
    // new version, and the run rolls them back.
    const missing = `${namespace}-missing`;
    const ts = await awsTestStore('ui-rollback-initial');
    const playbook = testPlaybook(ts.store, {
      clusters: contexts.map((name) => ({
        name,
        delivery: 'push' as const,
        namespace: name === 'cluster-c' ? missing : namespace,
        secretName: 'ui-rollback-key',
      })),
      waves: [['cluster-a', 'cluster-b', 'cluster-c']],
    });
    const { workflowId, h } = await startRotation(playbook);
    const outcome = await tw.run(() => outcomeOf(h));
    expect(outcome.ok).toBe(false);
    const status = await h.query(statusQuery);
    expect(status.phase).toBe('rolled-back');
    const blocked = status.clusters.find((c) => c.name === 'cluster-c');
    expect(blocked?.phase).toBe('rolled-back');
    expect(blocked?.failure).toContain(`namespace ${missing} does not exist`);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    await openRunPage(page, uiLink(workflowId, h.firstExecutionRunId), workflowId);
    await openUserMetadata(page);
    let text = '';
    for (let i = 0; i < 60 && !text.includes('failing cluster'); i++) {
      await page.waitForTimeout(500);
      text = await allText(page);
    }
    await page.screenshot({ path: `${artifacts}/temporal-ui-rolled-back.png`, fullPage: true });
    writeFileSync(`${artifacts}/temporal-ui-rolled-back.txt`, text);
    expectDecoded(text);
    expect(text).toMatch(/phase\s+rolled-back/);
    expect(text).toMatch(
      new RegExp(
        `failing cluster:\\s+cluster-c\\s+—\\s+dual-read: cluster cluster-c: namespace ${missing} does not exist`,
      ),
    );
    expect(text).toMatch(/next:\s+consumers read the old version again/);
    // The failure chain, from the stage that failed down to the cluster's own error.
    expect(text).toMatch(/failure:\s+distribute failed: dual-read failed in 1 of 3 cluster\(s\): cluster-c: /);
    expect(text).toMatch(/undo restore clusters to the old version:\s+ok/);
  });
});
