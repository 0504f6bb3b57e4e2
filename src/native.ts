/**
 * The Node objects behind axios's: the real ClientRequest, its agent and socket, found by
 * shape (mocking libraries replace the classes, so `instanceof` cannot be trusted); and
 * origin labels, the secret-free names of their far side.
 */
import type { Agent, ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { currentRequestOf, redirectCountOf, secureEstablishedOf } from './foreign';

// Recognized by shape, not `instanceof`: HTTP mocking libraries (nock, msw) replace
// `http.ClientRequest` process-wide, after which real requests fail an instanceof check.
function isClientRequest(value: unknown): value is ClientRequest {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { reusedSocket?: unknown }).reusedSocket === 'boolean' &&
    typeof (value as { setHeader?: unknown }).setHeader === 'function'
  );
}

/**
 * The real `ClientRequest` behind `error.request` / `response.request`: axios hands
 * out follow-redirects' wrapper when `maxRedirects > 0`, which keeps it as `_currentRequest`.
 */
export function nativeRequestOf(request: unknown): ClientRequest | undefined {
  if (isClientRequest(request)) return request;
  if (typeof request === 'object' && request !== null) {
    const current = currentRequestOf(request);
    if (isClientRequest(current)) return current;
  }
  return undefined;
}

/** A Node agent with a free-socket pool (http.Agent or a subclass), by shape. */
export function isPoolingAgent(value: unknown): value is Agent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { freeSockets?: unknown }).freeSockets === 'object' &&
    typeof (value as { getName?: unknown }).getName === 'function'
  );
}

/** True when `socket` is a TLS socket whose handshake never completed. */
export function tlsHandshakeIncomplete(socket: Socket | null | undefined): boolean {
  if (!socket || (socket as Partial<TLSSocket>).encrypted !== true) return false;
  const tls = socket as TLSSocket;
  // Node's own flag when it has one; `authorized` and `authorizationError` are set once the
  // handshake is done as well and cover runtimes that lack it.
  const established = secureEstablishedOf(tls);
  if (established !== undefined) return !established;
  return !tls.authorized && tls.authorizationError == null;
}

/** `protocol//host:port`, with an IPv6 host in brackets: an origin label holds no secret. */
export function originLabel(protocol: string, host: string, port: number | string): string {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return `${protocol}//${bare.includes(':') ? `[${bare}]` : bare}:${port}`;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** The origin label of an absolute URL; `undefined` for a relative or malformed one. */
export function originOfUrl(url: string): string | undefined {
  try {
    const { protocol, hostname, port } = new URL(url);
    return originLabel(protocol, hostname, port || (DEFAULT_PORTS[protocol] ?? ''));
  } catch {
    return undefined;
  }
}

/**
 * Why a response may already have arrived for the request behind axios's `error.request`
 * before it failed, or `undefined`: a redirect that follow-redirects followed (the failure
 * is then the next hop's, the original request possibly applied), or the fetch adapter,
 * which follows redirects inside fetch where nothing of them can be seen.
 */
export function earlierAnswer(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const redirects = redirectCountOf(request);
  if (redirects !== undefined && redirects > 0) {
    return `the server answered with a redirect before this failure (${redirects} followed)`;
  }
  // a fetch Request's public fields
  const r = request as { redirect?: unknown; url?: unknown };
  if (r.redirect === 'follow' && typeof r.url === 'string') {
    return "fetch follows redirects out of the guard's sight (maxRedirects: 0 lets it tell, from axios 1.20.0)";
  }
  return undefined;
}
