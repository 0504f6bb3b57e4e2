/**
 * Whether a request body can be sent again with the same content. Streams (Node `Readable`,
 * the `form-data` package, web `ReadableStream`, async iterables) are consumed by the
 * first attempt: resending them would send an empty or partial body.
 * Strings, Buffers, typed arrays, URLSearchParams and Blob are resent byte for byte;
 * spec FormData is serialized again on each attempt: the same fields, under a new
 * multipart boundary.
 */
export function isReplayableBody(data: unknown): boolean {
  if (data === null || typeof data !== 'object') return true;
  const candidate = data as { pipe?: unknown; getReader?: unknown; [Symbol.asyncIterator]?: unknown };
  if (typeof candidate.pipe === 'function') return false;
  if (typeof candidate.getReader === 'function') return false;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && data instanceof FormData) return true;
  return typeof candidate[Symbol.asyncIterator] !== 'function';
}
