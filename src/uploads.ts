/**
 * Replayable uploads (`resetGuard.body`): the factory's body for each attempt that needs
 * one, the Content-Length the caller declared (axios writes the first body's length into
 * the shared headers, which a new body must not inherit), and the last body the guard
 * made, closed if the request fails (the caller never held it).
 */
import type { InternalAxiosRequestConfig } from 'axios';
import { discardBody } from './body';
import { ResetGuardOptionError } from './errors';
import type { BodyFactory } from './options';

/** What the guard keeps of one request's uploads. */
export interface Upload {
  /** The `Content-Length` the caller set, before axios added the first body's own. */
  readonly declaredLength: unknown;
  /** The last body the factory made. */
  made: unknown;
}

/** What an adapter sends as it is: the factory's body skips axios's request transforms. */
function sendable(body: unknown): boolean {
  if (typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof body !== 'object' || body === null) return false;
  if (typeof (body as { then?: unknown }).then === 'function') return false; // not awaited
  if (typeof (body as { pipe?: unknown }).pipe === 'function') return true; // Node stream, form-data
  return (
    (typeof FormData !== 'undefined' && body instanceof FormData) ||
    (typeof Blob !== 'undefined' && body instanceof Blob)
  );
}

function make(config: InternalAxiosRequestConfig, factory: BodyFactory): unknown {
  const body = factory(config);
  if (!sendable(body)) {
    throw new ResetGuardOptionError(
      'resetGuard.body',
      body,
      'a function returning a stream, Buffer, string, FormData or Blob (sent as it is, not awaited)',
    );
  }
  return body;
}

/**
 * Before the first attempt of a request with a body factory: notes the caller's
 * Content-Length, and makes the first body when `data` is unset.
 */
export function firstBody(config: InternalAxiosRequestConfig, factory: BodyFactory): Upload {
  const upload: Upload = { declaredLength: config.headers.get('content-length') ?? undefined, made: undefined };
  if (config.data === undefined) config.data = upload.made = make(config, factory);
  return upload;
}

/**
 * Gives a retry a new body: the spent one (a file left half read by a reset) is closed,
 * the headers lose the first body's length unless the caller declared one. A factory that
 * throws ends the request with its own error.
 */
export function freshBody(config: InternalAxiosRequestConfig, upload: Upload, factory: BodyFactory): void {
  discardBody(config.data);
  if (upload.declaredLength === undefined) config.headers.delete('content-length');
  else config.headers.set('content-length', upload.declaredLength as string);
  config.data = upload.made = make(config, factory);
}

/** After a failed request: the last body the guard made goes (its file closes). */
export function dropUpload(upload: Upload | undefined): void {
  if (upload !== undefined) discardBody(upload.made);
}
