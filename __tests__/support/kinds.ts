/** Every failure kind, as the README's "What is retried, and how" table lists them. */
export const FAILURE_KINDS = [
  'stale-socket',
  'reset',
  'reset-mid-response',
  'tls-reset',
  'refused',
  'timeout',
  'dns',
  'http-status',
  'canceled',
  'other',
] as const;
