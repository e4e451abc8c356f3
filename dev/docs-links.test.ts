/**
 * The documentation stays usable: every relative link in README.md, CHANGELOG.md and docs/*.md
 * points at a file that exists (and, into a markdown file, at a heading it has), the README stays
 * short, and docs/failures.md names every failure type of the catalogue in core/failures.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as failures from '../core/failures';
import { slug } from './markdown-slug';

const root = resolve(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const checked = ['README.md', 'CHANGELOG.md', ...docs];

/** The text outside fenced code blocks (links and headings there are examples, not links). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Inline link targets, code spans removed first (`[x](y)` inside backticks is not a link). */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
}

/** Every heading anchor of a markdown file, with GitHub's `-1`, `-2` suffixes for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = slug(m[1] ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** What is wrong with one link of `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  // Absolute URLs (https:, mailto:) are not checked here.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const [path = '', anchor] = target.split('#', 2);
  const resolved = path === '' ? join(root, file) : resolve(root, dirname(file), decodeURI(path));
  const shown = relative(root, resolved) || '.';
  if (!existsSync(resolved)) return `${file}: link ${target}: ${shown} does not exist`;
  if (anchor && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(anchor))
    return `${file}: link ${target}: ${shown} has no heading #${anchor}`;
  return undefined;
}

/** Every failure type name the catalogue exports (the string values of its exported maps). */
const failureTypes = [
  ...new Set(
    Object.values(failures as Record<string, unknown>)
      .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
      .flatMap((catalogue): unknown[] => Object.values(catalogue))
      .filter((t): t is string => typeof t === 'string'),
  ),
].sort();

describe('documentation', () => {
  it.each(checked)('%s: every relative link points at an existing file and heading', (file) => {
    const problems = linkTargets(read(file))
      .map((target) => brokenLink(file, target))
      .filter((p): p is string => p !== undefined);
    expect(problems).toEqual([]);
  });

  it('README.md has at most 250 lines', () => {
    const text = read('README.md');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    expect(lines).toBeLessThanOrEqual(250);
  });

  it('reads the failure catalogue (guards the check below against an empty list)', () => {
    expect(failureTypes).toContain('RotationRolledBack');
    expect(failureTypes).toContain('VaultError');
    expect(failureTypes.length).toBeGreaterThan(20);
  });

  it.each(failureTypes)('docs/failures.md documents `%s`', (type) => {
    expect(read('docs/failures.md')).toContain(`\`${type}\``);
  });
});
