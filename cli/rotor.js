#!/usr/bin/env node
// The `rotor` bin: the CLI is TypeScript, run through tsx's loader in this same process, so it
// works from a checkout or `npm link` without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
