/**
 * The firewall lab's client (run in the client namespace by `FirewallLab.node`):
 * `client.ts <kind> <baseURL>`, where kind is
 * - `plain`: axios over `new HttpAgent({ keepAlive: true, freeSocketTimeout: 30000 })`
 *   (agentkeepalive; Node's agent turns on TCP keepalive, 1 s, on free sockets);
 * - `guard`: axios with `attach(api)` from this package, defaults (its own agents);
 * - `control`: like `plain`, but TCP keepalive probes only after 60 s of idle (none in a test).
 *
 * Driven by JSON lines on stdin, reporting JSON lines on stdout:
 * - `{"op":"request","method":"GET","path":"/x","timeout":3000}` sends one request and prints
 *   `{"event":"result", ok, status?, code?, reason?, durationMs, idleMs, reused, localPort, attempts}`,
 *   where `attempts` lists the HTTP requests node sent for it (the guard's retries included),
 *   each with whether it went on a reused keep-alive socket and its local port;
 * - `{"op":"stats"}` prints `{"event":"stats", guard: guard.stats() | null, agent}`.
 * Prints `{"event":"ready"}` first; exits when stdin ends.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import axios, { type AxiosInstance, type Method } from 'axios';
import HttpAgent from 'agentkeepalive';
import { attach, failureOf, type Guard } from '../../src';

type Kind = 'plain' | 'guard' | 'control';

interface RequestCommand {
  readonly op: 'request';
  readonly method?: Method;
  readonly path: string;
  readonly timeout?: number;
}
type Command = RequestCommand | { readonly op: 'stats' };

interface Attempt {
  reused: boolean;
  localPort: number | undefined;
  error: string | undefined;
}

const [kindArg, baseURL] = process.argv.slice(2);
if (kindArg !== 'plain' && kindArg !== 'guard' && kindArg !== 'control') throw new Error(`unknown kind ${kindArg}`);
if (baseURL === undefined) throw new Error('usage: client.ts <plain|guard|control> <baseURL>');
const kind: Kind = kindArg;

function print(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let agent: HttpAgent;
let guard: Guard | undefined;
let api: AxiosInstance;
if (kind === 'guard') {
  api = axios.create({ baseURL });
  guard = attach(api);
  agent = guard.agents.http as HttpAgent;
} else {
  // control: the same agent, but the first TCP keepalive probe only after 60 s of idle
  agent = new HttpAgent({
    keepAlive: true,
    freeSocketTimeout: 30000,
    ...(kind === 'control' ? { keepAliveMsecs: 60_000 } : {}),
  });
  api = axios.create({ baseURL, httpAgent: agent });
}

// Every HTTP request node starts while a command runs belongs to it: its attempts.
let current: Attempt[] | undefined;
subscribe('http.client.request.start', (message) => {
  const request = (message as { request: ClientRequest }).request;
  const attempt: Attempt = { reused: request.reusedSocket, localPort: request.socket?.localPort, error: undefined };
  current?.push(attempt);
  const socket = request.socket;
  if (socket !== null && attempt.localPort === undefined) {
    socket.once('connect', () => (attempt.localPort = socket.localPort));
  }
  request.once('error', (error: NodeJS.ErrnoException) => (attempt.error = error.code ?? error.message));
});

let lastActivity: number | undefined;

async function request(command: RequestCommand): Promise<void> {
  const attempts: Attempt[] = [];
  current = attempts;
  const started = performance.now();
  const idleMs = lastActivity === undefined ? null : Math.round(started - lastActivity);
  const base = { event: 'result', kind, path: command.path, idleMs, attempts };
  let outcome: object;
  try {
    const res = await api.request({
      method: command.method ?? 'GET',
      url: command.path,
      timeout: command.timeout ?? 0,
    });
    const data = res.data as { path?: string; count?: number };
    outcome = { ok: true, status: res.status, ...(data.count !== undefined ? { count: data.count } : {}) };
  } catch (error) {
    outcome = axios.isAxiosError(error)
      ? {
          ok: false,
          code: error.code,
          status: error.response?.status,
          message: error.message,
          reason: failureOf(error)?.reason,
        }
      : { ok: false, code: 'not-axios', message: String(error) };
  }
  lastActivity = performance.now();
  current = undefined;
  print({
    ...base,
    ...outcome,
    durationMs: Math.round(lastActivity - started),
    reused: attempts[0]?.reused ?? null,
    localPort: attempts[0]?.localPort ?? null,
  });
}

function stats(): void {
  const status = agent.getCurrentStatus();
  print({
    event: 'stats',
    kind,
    guard: guard?.stats() ?? null,
    agent: {
      created: status.createSocketCount,
      errored: status.errorSocketCount,
      closed: status.closeSocketCount,
      timedOut: status.timeoutSocketCount,
    },
  });
}

// one command at a time, in order
let queue = Promise.resolve();
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const command = JSON.parse(line) as Command;
  queue = queue.then(async () => {
    if (command.op === 'request') await request(command);
    else if (command.op === 'stats') stats();
    else print({ event: 'error', message: `unknown op ${JSON.stringify(command)}` });
  });
});
input.on('close', () => {
  void queue.then(() => {
    if (guard !== undefined) guard.detach();
    else agent.destroy();
    process.exit(0);
  });
});

print({ event: 'ready', kind, pid: process.pid });
