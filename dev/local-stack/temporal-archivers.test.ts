import { describe, expect, it } from 'vitest';
import { withoutCloudArchivers } from './services/temporal';

// The shape of go.temporal.io/server v1.29's common/archiver/provider/provider.go, shortened.
const registry = [
  'import (',
  '\t"go.temporal.io/server/common/archiver/filestore"',
  '\t"go.temporal.io/server/common/archiver/gcloud"',
  '\t"go.temporal.io/server/common/archiver/s3store"',
  ')',
  'func history(scheme string) {',
  '\tswitch scheme {',
  '\tcase filestore.URIScheme:',
  '\t\tuse(filestore.NewHistoryArchiver())',
  '',
  '\tcase gcloud.URIScheme:',
  '\t\tuse(gcloud.NewHistoryArchiver())',
  '',
  '\tcase s3store.URIScheme:',
  '\t\tuse(s3store.NewHistoryArchiver())',
  '\tdefault:',
  '\t\treturn nil, ErrUnknownScheme',
  '\t}',
  '}',
  'func visibility(scheme string) {',
  '\tswitch scheme {',
  '\tcase filestore.URIScheme:',
  '\t\tuse(filestore.NewVisibilityArchiver())',
  '\tcase s3store.URIScheme:',
  '\t\tuse(s3store.NewVisibilityArchiver())',
  '\tcase gcloud.URIScheme:',
  '\t\tuse(gcloud.NewVisibilityArchiver())',
  '',
  '\tdefault:',
  '\t\treturn nil, ErrUnknownScheme',
  '\t}',
  '}',
].join('\n');

describe("the Temporal build's archiver patch", () => {
  it('leaves only the filestore archiver, in both switches, and every default', () => {
    const patched = withoutCloudArchivers(registry);
    expect(patched).not.toMatch(/gcloud|s3store/);
    expect(patched.match(/case filestore\.URIScheme:/g)).toHaveLength(2);
    expect(patched.match(/\tdefault:\n\t\treturn nil, ErrUnknownScheme/g)).toHaveLength(2);
    expect(patched).toContain('\t"go.temporal.io/server/common/archiver/filestore"\n)');
  });

  it('changes nothing in a file of another shape, which the build then refuses as unpatched', () => {
    const other = 'package provider\n\nimport "go.temporal.io/server/common/archiver/filestore"\n';
    expect(withoutCloudArchivers(other)).toBe(other);
  });
});
