import { z } from 'zod';

/**
 * A store path (Vault mount or path below it): segments separated by `/`, none empty, `.` or `..`,
 * and no `#` or `?`, which would end the API URL's path and aim the request somewhere else, nor
 * `%`: the HTTP client decodes `%2e%2e` into `..` after every check here, and reaches another
 * team's entry (and dodges its store lock).
 */
export const storePath = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    const segments = path.split('/');
    if (segments.some((s) => s === '')) {
      ctx.addIssue({
        code: 'custom',
        message: `'${path}' has an empty segment (a leading, trailing or doubled /); write e.g. apps/payments/api-key`,
      });
    }
    const dots = segments.find((s) => s === '.' || s === '..');
    if (dots !== undefined) {
      ctx.addIssue({ code: 'custom', message: `'${path}' has a '${dots}' segment; write the path without it` });
    }
    if (path.includes('%')) {
      ctx.addIssue({
        code: 'custom',
        message: `'${path}' contains '%': percent-encoding is refused (an encoded '..' would reach another path); write the path as plain segments`,
      });
    }
    if (/[#?]/.test(path)) {
      ctx.addIssue({
        code: 'custom',
        message: `'${path}' contains '#' or '?', which would cut the API path short; use letters, digits, - _ . and /`,
      });
    } else if (!path.includes('%') && !/^[A-Za-z0-9/_.@+=-]+$/.test(path)) {
      // Only characters every backend reads as themselves: no spaces, quotes, backslashes or unicode
      // a client might normalise into something else.
      ctx.addIssue({
        code: 'custom',
        message: `'${path}' has characters outside letters, digits, '/', '-', '_', '.', '@', '+' and '='; rename it with those`,
      });
    }
  })
  .describe(
    "A store path: segments of letters, digits, '-', '_', '.', '@', '+' and '=', separated by '/', none empty, '.' or '..'; no '%', '#' or '?'.",
  );

/**
 * A name Vault reads as one path segment (a database role or connection): letters, digits, '-',
 * '_' and '.', starting with a letter or digit, so never '.', '..', a '/', or percent-encoding.
 */
export const vaultName = z
  .string()
  .regex(
    /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
    "must be letters, digits, '-', '_' and '.', starting with a letter or digit (no '/', '%' or '..')",
  )
  .describe("A Vault name: letters, digits, '-', '_' and '.', starting with a letter or digit.");

/** A Kubernetes Secret data key, as the apiserver accepts it (IsConfigMapKey). */
export const secretKey = z
  .string()
  .min(1, 'must not be empty; write e.g. value')
  .max(253, 'must be at most 253 characters')
  .regex(/^[-._a-zA-Z0-9]+$/, 'Kubernetes refuses this Secret key; use only letters, digits, -, _ and . (e.g. value)')
  .refine((k) => k !== '.' && !k.startsWith('..'), "must not be '.' or start with '..'; write e.g. value")
  .describe("A Kubernetes Secret data key: letters, digits, '-', '_' and '.', not '.' and not starting with '..'.");

/** An AWS Secrets Manager secret name or ARN (the characters AWS accepts). */
export const awsSecretId = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9/_+=.@:-]+$/, 'AWS refuses this secret name; use letters, digits and / _ + = . @ - (or an ARN)')
  .describe('An AWS Secrets Manager secret name or ARN.');
