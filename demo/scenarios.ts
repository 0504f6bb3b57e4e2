/**
 * One scenario per common cause of "connection reset by peer", with times scaled down
 * (a real NAT forgets after minutes, Node's server after 5 s) so the demo runs in seconds.
 * Random faults come from fixed seeds so every client meets the same pattern and runs
 * are reproducible; the seeds were chosen without runs of more than two faults in a row
 * (at a 20 % fault rate such a run hits under 1 % of requests).
 */
import * as faults from '../testbed/faults';
import { h2RestartingServer, type H2Ledger } from './h2-server';

export interface Traffic {
  /** `mixed`: request i is a GET, a POST, or a POST with an `Idempotency-Key`, by i % 3. */
  readonly method: 'get' | 'post' | 'mixed';
  readonly requests: number;
  /** Wait between the end of one request and the start of the next (sequential traffic). */
  readonly spacingMs?: number;
  /** Fire one request every intervalMs without waiting for the previous (open loop). */
  readonly intervalMs?: number;
  /** Parallel workers, for sequential traffic. */
  readonly concurrency?: number;
  /** axios's `timeout` on every request (none when absent). */
  readonly timeoutMs?: number;
  /** The guard's `attemptTimeoutMs` on every request of its client (its default, none, when absent). */
  readonly guardAttemptTimeoutMs?: number;
  /**
   * The demo's own bound: a request still pending this long after it was sent counts as a
   * failure (`pending after N s`) and the demo moves on, so a client that hangs cannot hang the demo.
   */
  readonly boundMs?: number;
}

export interface Scenario {
  readonly id: number;
  readonly key: string;
  readonly title: string;
  readonly cause: string;
  /** The guard is expected to hide every failure here. */
  readonly cureExpected: boolean;
  /** Every client sends with `httpVersion: 2` (h2c). */
  readonly http2?: boolean;
  start(): Promise<faults.Target & { ledger?: () => H2Ledger }>;
  traffic(quick: boolean): Traffic;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 1,
    key: 'firewall-idle-drop',
    title: 'A proxy or load balancer silently forgets idle connections',
    // Not a NAT with a timeout: TCP keepalive on pooled sockets keeps its flows (README).
    cause:
      'a TCP-terminating proxy or load balancer (or a box that lost its state) drops connections idle > 250 ms without a FIN; the next packet gets an RST',
    cureExpected: true,
    start: () => faults.idleDropFirewall(250),
    traffic: (quick) => ({ method: 'get', requests: quick ? 5 : 12, spacingMs: 300 }),
  },
  {
    id: 2,
    key: 'keep-alive-timeout-boundary',
    title: 'Server closes idle keep-alive connections at its timeout',
    cause: 'the server closes connections idle for 500 ms (no Keep-Alive hint); requests arrive every 480-520 ms',
    cureExpected: true,
    start: () => faults.idleClosingServer(500),
    traffic: (quick) => ({ method: 'get', requests: quick ? 5 : 12, spacingMs: 480 }),
  },
  {
    id: 3,
    key: 'overloaded-server',
    title: 'Overloaded server resets a share of new connections',
    cause: '20 % of new TCP connections are reset as soon as the request arrives',
    cureExpected: true,
    start: () => faults.overloadedServer(0.2, 17),
    traffic: (quick) => ({ method: 'get', requests: quick ? 24 : 60, concurrency: 6 }),
  },
  {
    id: 4,
    key: 'server-restart',
    title: 'Server restart',
    cause: 'open connections are reset, the port refuses connections for 120 ms, then the server is back',
    cureExpected: true,
    start: () => faults.restartingServer(300, 120),
    traffic: (quick) => ({ method: 'get', requests: quick ? 20 : 40, intervalMs: 30 }),
  },
  {
    id: 5,
    key: 'reset-mid-body',
    title: 'Reset in the middle of a response body',
    cause: '20 % of responses are cut with an RST after half of the body',
    cureExpected: true,
    start: () => faults.midBodyResetServer(0.2, 23),
    traffic: (quick) => ({ method: 'get', requests: quick ? 12 : 30, spacingMs: 5 }),
  },
  {
    id: 6,
    key: 'tls-handshake-reset',
    title: 'Reset during the TLS handshake',
    cause: '20 % of TLS handshakes are reset after the ClientHello',
    cureExpected: true,
    start: () => faults.tlsHandshakeResetServer(0.2, 12),
    traffic: (quick) => ({ method: 'get', requests: quick ? 12 : 30, spacingMs: 5 }),
  },
  {
    id: 7,
    key: 'post-on-stale-connection',
    title: 'POSTs on connections that went stale',
    // Idle past the guard's expert.staleIdleMs (1 s): a POST is resent only when its socket idled that long.
    cause: 'a firewall drops connections idle > 1 s; POSTs every ~1.1 s; the dropped attempt never reached the server',
    cureExpected: true,
    start: () => faults.idleDropFirewall(1000),
    traffic: (quick) => ({ method: 'post', requests: quick ? 3 : 8, spacingMs: 1100 }),
  },
  {
    id: 8,
    key: 'outage-retry-storm',
    title: 'Outage: every connection is reset',
    // Nothing can cure this; what matters is how much load the retries add to a dead server.
    cause: 'the server resets every request; retries only add load (the guard: a budget of 100 retries, then none)',
    cureExpected: false,
    start: () => faults.resettingServer(),
    traffic: (quick) => ({ method: 'get', requests: quick ? 40 : 80, concurrency: 10 }),
  },
  {
    id: 9,
    key: 'black-hole',
    title: 'A box lost its state and drops packets (a black hole)',
    // Idle past the guard's expert.staleIdleMs (1 s), where it watches for an answer (expert.noAnswerMs, 2 s).
    cause:
      'connections idle > 1 s are forgotten and their packets dropped: no RST, no answer; every client has a 2.5 s timeout',
    cureExpected: true,
    start: () => faults.idleDropFirewall(1000, true),
    traffic: (quick) => ({ method: 'get', requests: quick ? 3 : 4, spacingMs: 1100, timeoutMs: 2500 }),
  },
  {
    id: 10,
    key: 'http2-goaway-restart',
    title: 'HTTP/2 server restarts under load (GOAWAY)',
    // Over HTTP/2 axios's `timeout` does not end a stream orphaned by its session (docs/policy.md),
    // so the guard gets the bound the docs prescribe for it, attemptTimeoutMs.
    cause:
      'h2c (httpVersion: 2); a burst of GETs, POSTs and keyed POSTs, 4 worked on at once; mid-burst the server sends GOAWAY (last-stream-id: the last stream it started), a new one takes the port 50 ms later, the old one gives work 200 ms, then a FIN; clients: 1 s timeout (axios timeout, the guard attemptTimeoutMs); pending after 3 s counts as failed',
    cureExpected: false,
    http2: true,
    start: () =>
      h2RestartingServer({
        workers: 4,
        // requests 9-11 (a GET, a POST, a keyed POST) take 600 ms: still in progress when the grace ends
        workMs: (i) => (i >= 9 && i <= 11 ? 600 : 25),
        // the restart comes once request 24 arrived: behind 9 to 11 (cut by the FIN) a queue
        whenReceived: 24,
        atMs: 2000,
        graceMs: 200,
        downMs: 50,
      }),
    traffic: (quick) => ({
      method: 'mixed',
      requests: quick ? 30 : 60,
      intervalMs: 6,
      timeoutMs: 1000,
      guardAttemptTimeoutMs: 1000,
      boundMs: 3000,
    }),
  },
];
