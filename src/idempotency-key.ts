/** The `Idempotency-Key` a guarded non-idempotent request carries across its attempts. */
import { randomUUID } from 'node:crypto';
import { AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { ResetGuardOptionError } from './errors';
import type { ResolvedOptions } from './normalize';
import { isIdempotentMethod } from './policy';

// RFC 9110 field-value: visible characters, inner spaces or tabs only (no CR, LF, NUL, no edge spaces).
const HEADER_VALUE = /^[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/;

/**
 * Gives a non-idempotent request its `Idempotency-Key`, once per logical request (a key
 * the caller set is kept). A factory that throws, or returns no header value, rejects the
 * request before anything is sent.
 */
export function addIdempotencyKey(
  config: InternalAxiosRequestConfig,
  factory: ResolvedOptions['idempotencyKey'],
): void {
  if (factory === false || isIdempotentMethod(config.method)) return;
  const headers = AxiosHeaders.from(config.headers);
  if (headers.has('idempotency-key')) return;
  const key: unknown = factory === true ? randomUUID() : factory(config);
  if (typeof key !== 'string' || !HEADER_VALUE.test(key)) {
    throw new ResetGuardOptionError('idempotencyKey', key, 'a function returning a non-empty header value');
  }
  headers.set('Idempotency-Key', key);
  config.headers = headers;
}
