/** The stack's client environment for tests (the one copy lives in dev/local-stack/stack-env.ts). */
export { useStackEnv } from '../../dev/local-stack/stack-env';
