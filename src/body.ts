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

/**
 * Lets go of a streamed body nobody will read: a Node stream is destroyed, a web stream
 * cancelled (its socket goes back to the pool or closes). Anything else is left alone.
 */
export function discardBody(data: unknown): void {
  const stream = data as { destroy?: unknown; cancel?: unknown } | null | undefined;
  if (typeof stream?.destroy === 'function') (stream.destroy as () => void).call(stream);
  else if (typeof stream?.cancel === 'function')
    void (stream.cancel as () => Promise<void>).call(stream).catch(() => {});
}
