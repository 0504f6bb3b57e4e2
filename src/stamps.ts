/**
 * When each pooled socket went idle, under which pool and origin, and how many bytes it
 * had read by then: the facts the classifier, the black-hole watch and the purge read.
 * One listener per agent records them, shared by every guard that uses the agent.
 */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { monotonicNow, type Clock } from './clock';
import { agentDefaultPortOf, agentProtocolOf, onSocketFree } from './foreign';
import { originLabel } from './native';

/** When a socket last went back to its agent's pool, and under which pool and origin. */
export interface PoolStamp {
  /**
   * When it went free, on the monotonic clock ({@link monotonicNow}, or the clock a test
   * injects): compare it only with readings of the same clock, never with `Date.now()`.
   */
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

// Sockets whose idle timer fired ('timeout'). follow-redirects turns axios's `timeout` into
// one and destroys the socket without an error when it fires: a response then ends as one
// cut by a FIN would, and only this mark tells the two apart.
const timedOut = new WeakSet<Socket>();

/** Marks `socket` once its idle timer fires (sockets of the guard's own agents, from creation). */
export function watchIdleTimer(socket: Socket): void {
  socket.once('timeout', () => timedOut.add(socket));
}

/** Whether the socket's idle timer fired while the guard watched it. */
export function idleTimerFired(socket: Socket | null | undefined): boolean {
  return socket != null && timedOut.has(socket);
}

// Agents already stamped: one 'free' listener per agent, however many guards use it, and
// closing over no guard (a guard dropped without detach() is not kept alive by it).
const tapped = new WeakSet<Agent>();

/**
 * Stamps every socket `agent` puts back in its free pool, from now on (idempotent: the
 * first call installs the one listener, with its clock).
 */
export function stampSockets(agent: Agent, now: Clock = monotonicNow): void {
  if (tapped.has(agent)) return;
  tapped.add(agent);
  const protocol = agentProtocolOf(agent) ?? 'http:';
  const defaultPort = agentDefaultPortOf(agent) ?? 80;
  onSocketFree(agent, (socket, options) => {
    const since = now();
    // A socket keeps its pool for life: its stamp is updated in place after the first.
    const last = stamps.get(socket);
    if (last !== undefined) {
      const mutable = last as { since: number; bytesRead: number };
      mutable.since = since;
      mutable.bytesRead = socket.bytesRead;
      return;
    }
    // Once per connection. No cache keyed by pool names: they can hold TLS keys, and a
    // module-level map would keep them after their agent is gone.
    const origin = originLabel(protocol, options.host ?? 'localhost', String(options.port ?? defaultPort));
    stamps.set(socket, { since, pool: agent.getName(options), origin, bytesRead: socket.bytesRead });
  });
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
