import type { Agent, ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** When a socket last went back to its agent's pool, and under which pool name. */
export interface PoolStamp {
  readonly since: number;
  readonly pool: string;
  /** `socket.bytesRead` when it went free: if it has grown since, response bytes came in. */
  readonly bytesRead: number;
}

// Keyed by socket so entries go away with the sockets.
const stamps = new WeakMap<Socket, PoolStamp>();

/**
 * Records, for every socket `agent` puts back in its free pool, when it did so.
 * Works with any Node agent (the `free` event is Node's). Returns the undo.
 */
export function trackIdle(
  agent: Agent,
  afterFree?: (socket: Socket, pool: string) => void,
  now: () => number = Date.now,
): () => void {
  const onFree = (socket: Socket, options: Parameters<Agent['getName']>[0]): void => {
    const pool = agent.getName(options);
    stamps.set(socket, { since: now(), pool, bytesRead: socket.bytesRead });
    afterFree?.(socket, pool);
  };
  agent.on('free', onFree);
  return () => {
    agent.off('free', onFree);
  };
}

export function stampOf(socket: Socket | null | undefined): PoolStamp | undefined {
  return socket ? stamps.get(socket) : undefined;
}

/**
 * Destroys the free sockets of `agent` in the same pool as a socket found stale that
 * had gone idle no later than it: they idled at least as long, so the far side has
 * most likely forgotten them too. Returns how many were destroyed.
 */
export function purgeIdlePeers(agent: Agent, dead: PoolStamp): number {
  const free = agent.freeSockets[dead.pool];
  if (!free) return 0;
  let purged = 0;
  for (const socket of [...free]) {
    const stamp = stamps.get(socket);
    if (stamp !== undefined && stamp.since <= dead.since) {
      socket.destroy();
      purged += 1;
    }
  }
  return purged;
}

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
    const current = (request as { _currentRequest?: unknown })._currentRequest;
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
  // `_secureEstablished` is set by Node once the handshake is done; `authorized` and
  // `authorizationError` are set then as well and cover runtimes that lack it.
  const established = (tls as TLSSocket & { _secureEstablished?: boolean })._secureEstablished;
  if (established !== undefined) return !established;
  return !tls.authorized && tls.authorizationError == null;
}
