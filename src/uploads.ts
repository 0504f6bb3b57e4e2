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
  /** The caller's own `data`, sent by the first attempt (`undefined` when the factory made it). */
  readonly given: unknown;
}

/**
 * What every adapter of axios sends as it is (the factory's body skips axios's request
 * transforms). The http adapter rejects typed arrays other than Buffer, and DataView.
 */
function sendable(body: unknown): boolean {
  if (typeof body === 'string' || body instanceof ArrayBuffer || Buffer.isBuffer(body)) return true;
  if (ArrayBuffer.isView(body)) return false;
  if (typeof body !== 'object' || body === null) return false;
  if (typeof (body as { then?: unknown }).then === 'function') return false; // not awaited
  if (typeof (body as { pipe?: unknown }).pipe === 'function') return true; // Node stream, form-data
  return (
    (typeof FormData !== 'undefined' && body instanceof FormData) ||
    (typeof Blob !== 'undefined' && body instanceof Blob)
  );
}

/** A Node stream that was read to its end or destroyed: sending it again sends nothing. */
function spent(body: unknown): boolean {
  const stream = body as { pipe?: unknown; destroyed?: unknown; readableEnded?: unknown } | null | undefined;
  return typeof stream?.pipe === 'function' && (stream.destroyed === true || stream.readableEnded === true);
}

function make(config: InternalAxiosRequestConfig, factory: BodyFactory, previous?: unknown): unknown {
  const body = factory(config);
  if (body === previous && typeof (body as { pipe?: unknown } | null)?.pipe === 'function') {
    throw new ResetGuardOptionError('resetGuard.body', body, 'a function returning a new stream for each attempt');
  }
  if (spent(body)) {
    throw new ResetGuardOptionError('resetGuard.body', body, 'a function returning a stream not yet read');
  }
  if (!sendable(body)) {
    throw new ResetGuardOptionError(
      'resetGuard.body',
      body,
      'a function returning a stream, Buffer, ArrayBuffer, string, FormData or Blob (sent as it is, not awaited; ' +
        'a typed array as Buffer.from(view.buffer, view.byteOffset, view.byteLength))',
    );
  }
  return body;
}

/**
 * Before the first attempt of a request with a body factory: notes the caller's
 * Content-Length, and makes the first body when `data` is unset.
 */
export function firstBody(config: InternalAxiosRequestConfig, factory: BodyFactory): Upload {
  // A config sent again by hand (a token-refresh interceptor's `api.request(error.config)`)
  // may still hold a spent stream: the factory makes the body then too.
  const data: unknown = config.data;
  const given = spent(data) ? undefined : data;
  const upload: Upload = {
    declaredLength: config.headers.get('content-length') ?? undefined,
    made: undefined,
    given,
  };
  if (given === undefined) upload.made = make(config, factory);
  config.data = given ?? upload.made;
  return upload;
}

/**
 * The request is over: `config.data` is what the caller gave again (nothing, when the
 * factory made every body), so the same config sent again gets new bodies.
 */
export function giveBackData(config: InternalAxiosRequestConfig, upload: Upload): void {
  config.data = upload.given;
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
  config.data = upload.made = make(config, factory, upload.made);
}

/** After a failed request: the last body the guard made goes (its file closes). */
export function dropUpload(upload: Upload | undefined): void {
  if (upload !== undefined) discardBody(upload.made);
}
