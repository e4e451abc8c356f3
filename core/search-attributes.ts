import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * rotor's custom search attributes, registered by the dev stack at start and upserted by the
 * rotation workflow at every stage. Values are names and phases only, never secret material.
 */
export const rotorSearchAttributes = {
  RotationSecret: 'Keyword',
  RotationPhase: 'Keyword',
  RotationTrigger: 'Keyword',
  RotationPlaybook: 'Keyword',
} as const;

export const RotationSecret = defineSearchAttributeKey('RotationSecret', 'KEYWORD');
export const RotationPhase = defineSearchAttributeKey('RotationPhase', 'KEYWORD');
export const RotationTrigger = defineSearchAttributeKey('RotationTrigger', 'KEYWORD');
export const RotationPlaybook = defineSearchAttributeKey('RotationPlaybook', 'KEYWORD');
