/**
 * When each pooled socket went idle, under which pool and origin, and how many bytes it
 * had read by then: the facts the classifier, the black-hole watch and the purge read.
 */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';

/** When a socket last went back to its agent's pool, and under which pool and origin. */
export interface PoolStamp {
  /** `Date.now()` when it went free. */
  readonly since: number;
  /** The agent's pool name (`host:port:...`): it may hold TLS material, never shown. */
  readonly pool: string;
  /** The origin label (`https://host:443`): what stats and events show. */
  readonly origin: string;
  /** `socket.bytesRead` when it went free: if it has grown since, response bytes came in. */
  readonly bytesRead: number;
}

// Keyed by socket so entries go away with the sockets.
const stamps = new WeakMap<Socket, PoolStamp>();

/** The socket's idle stamp, if an agent the guard tracks put it in its free pool. */
export function stampOf(socket: Socket | null | undefined): PoolStamp | undefined {
  return socket ? stamps.get(socket) : undefined;
}

/** Marks a stamped socket free again, in place: no allocation per request. */
export function restamp(stamp: PoolStamp, since: number, bytesRead: number): void {
  const mutable = stamp as { since: number; bytesRead: number };
  mutable.since = since;
  mutable.bytesRead = bytesRead;
}

/** Records the stamp of a socket going back to its pool the first time. */
export function stamp(socket: Socket, value: PoolStamp): void {
  stamps.set(socket, value);
}

/** Destroys the free sockets of the dead socket's pool that went idle no later than it. */
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
