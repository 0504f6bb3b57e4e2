import type { Agent } from 'node:http';
import HttpAgent, { HttpsAgent } from 'agentkeepalive';

/** A keep-alive agent as the guard creates it when the instance has none. */
export function createAgent(protocol: 'http' | 'https', freeSocketTimeout: number): HttpAgent | HttpsAgent {
  // timeout 0: no active-socket timeout from the agent (agentkeepalive's default of 8 s
  // would kill slow responses); the request's own `timeout` option governs instead.
  const options = { keepAlive: true, freeSocketTimeout, timeout: 0 };
  return protocol === 'http' ? new HttpAgent(options) : new HttpsAgent(options);
}

/** Socket counts of one agent, from `guard.stats().agents`. */
export interface AgentStatus {
  /** Sockets the agent opened (agentkeepalive agents only; 0 for others). */
  readonly createdSockets: number;
  /** Sockets closed (agentkeepalive agents only). */
  readonly closedSockets: number;
  /** Sockets closed after an error (agentkeepalive agents only). */
  readonly erroredSockets: number;
  /** Free sockets closed by the free-socket timeout (agentkeepalive agents only). */
  readonly timedOutSockets: number;
  readonly activeSockets: number;
  readonly freeSockets: number;
  readonly pendingRequests: number;
}

const total = (pools: NodeJS.ReadOnlyDict<readonly unknown[]>): number =>
  Object.values(pools).reduce((sum, list) => sum + (list?.length ?? 0), 0);

interface KeepAliveCounters {
  createSocketCount?: number;
  closeSocketCount?: number;
  errorSocketCount?: number;
  timeoutSocketCount?: number;
}

export function agentStatus(agent: Agent): AgentStatus {
  const counters = agent as Agent & KeepAliveCounters;
  return Object.freeze({
    createdSockets: counters.createSocketCount ?? 0,
    closedSockets: counters.closeSocketCount ?? 0,
    erroredSockets: counters.errorSocketCount ?? 0,
    timedOutSockets: counters.timeoutSocketCount ?? 0,
    activeSockets: total(agent.sockets),
    freeSockets: total(agent.freeSockets),
    pendingRequests: total(agent.requests),
  });
}
