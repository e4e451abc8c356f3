import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe('runtime', () => {
  it('runs the tests on the Node.js that package.json pins (the `node` package npm install brings), not the machine one', () => {
    expect(process.version).toBe(`v${pkg.devDependencies['node']}`);
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(pkg.engines.node).toMatch(/^>=24\./);
  });
});
