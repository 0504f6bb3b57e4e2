/**
 * Malformed answers from a raw TCP server (issue 5): garbage, truncated heads and bodies,
 * closes and resets with no response, and arbitrary bytes (fast-check). Every guarded
 * request must reject with a classified AxiosError (or resolve), exactly once, with no
 * unhandled rejection. The kinds asserted are the ones observed on Node 20 / axios 1.21.
 */
import type { Socket } from 'node:net';
import vm from 'node:vm';
import axios from 'axios';
import fc from 'fast-check';
import {
  attemptOf,
  classify,
  createClient,
  FAILURE_KINDS,
  failureOf,
  type FailureKind,
  type GuardedInstance,
} from '../src';
import { STALL_MS, startRawServer, writeThenReset, type RawServer } from '../testbed';
import { failure } from './support/failure';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import { testingOptions } from '../src/testing';

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n';

// The host process: jest hands each test file a copy of `process` whose events never fire.
const hostProcess = vm.runInThisContext('process') as NodeJS.Process;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => hostProcess.on('unhandledRejection', onUnhandled));
afterAll(() => hostProcess.off('unhandledRejection', onUnhandled));

const servers: RawServer[] = [];
const clients: GuardedInstance[] = [];

async function serve(respond: Parameters<typeof startRawServer>[0]): Promise<RawServer> {
  const server = await startRawServer(respond);
  servers.push(server);
  return server;
}

/** A fresh guarded client (fresh agents: no socket reused across tests); backoff waits skipped. */
function guarded(url: string, options: Parameters<typeof createClient>[0] = {}): GuardedInstance {
  const client = createClient(testingOptions(options), { baseURL: url });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.guard.detach();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  expect(unhandled).toEqual([]);
});

interface Case {
  readonly name: string;
  readonly respond: (socket: Socket) => void;
  readonly kind: FailureKind;
  readonly code: string;
  readonly message: string;
  /** Attempts made: 1 when the kind is not retried, retries + 1 (4) when it is. */
  readonly attempts: number;
}

const CASES: readonly Case[] = [
  {
    name: 'garbage bytes (not HTTP), then FIN',
    respond: (s) => s.end('ZZZZ this is not http\r\n\r\n'),
    kind: 'other',
    code: 'HPE_INVALID_CONSTANT',
    message: 'Parse Error: Expected HTTP/, RTSP/ or ICE/',
    attempts: 1,
  },
  {
    name: 'a truncated response head, then FIN',
    respond: (s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: applic'),
    kind: 'reset',
    code: 'ECONNRESET',
    message: 'socket hang up',
    attempts: 4,
  },
  {
    name: 'a close with no response (FIN)',
    respond: (s) => s.end(),
    kind: 'reset',
    code: 'ECONNRESET',
    message: 'socket hang up',
    attempts: 4,
  },
  {
    name: 'an RST with no response',
    respond: (s) => s.resetAndDestroy(),
    kind: 'reset',
    code: 'ECONNRESET',
    message: 'read ECONNRESET',
    attempts: 4,
  },
  {
    name: 'a Content-Length larger than the body, then RST',
    respond: (s) => writeThenReset(s, `${HEAD}Content-Length: 100\r\n\r\n{"partial":`),
    kind: 'reset-mid-response',
    code: 'ECONNRESET',
    message: 'read ECONNRESET',
    attempts: 4,
  },
  {
    name: 'a chunked body cut mid-chunk, then RST',
    respond: (s) => writeThenReset(s, `${HEAD}Transfer-Encoding: chunked\r\n\r\n10\r\n0123456`),
    kind: 'reset-mid-response',
    code: 'ECONNRESET',
    message: 'read ECONNRESET',
    attempts: 4,
  },
];

describe.each(CASES)('a GET answered with $name', ({ respond, kind, code, message, attempts }) => {
  it(`rejects with an AxiosError classified ${kind} (${code}) after ${attempts} attempt(s)`, async () => {
    const server = await serve(respond);
    const error = await failure(guarded(server.url).get('/item'));
    expect(axios.isAxiosError(error)).toBe(true);
    expect({ code: error.code, message: error.message, kind: classify(error).kind }).toEqual({ code, message, kind });
    expect(failureOf(error)!.classification.kind).toBe(kind);
    expect(attemptOf(error)!.attempt).toBe(attempts);
    expect(server.connections).toBe(attempts);
  });
});

// A body cut short by a FIN. Observed today: axios rejects with ERR_BAD_RESPONSE "stream has
// been aborted" and sets `error.response` (status 200), so classify() says `http-status`
// (not retryable) and the GET gets one attempt. The same error comes out of an RST mid-body
// whenever the RST arrives with the data (libuv reports that as EOF), as the chaos test sees.
const TRUNCATED_BY_FIN: readonly { name: string; bytes: string }[] = [
  { name: 'a Content-Length larger than the body, then FIN', bytes: `${HEAD}Content-Length: 100\r\n\r\n{"partial":` },
  { name: 'a chunked body cut mid-chunk, then FIN', bytes: `${HEAD}Transfer-Encoding: chunked\r\n\r\n10\r\n0123456` },
];

describe.each(TRUNCATED_BY_FIN)('a GET answered with $name', ({ bytes }) => {
  it('rejects once with a classified AxiosError whose response had started; one connection per attempt', async () => {
    const server = await serve((s) => s.end(bytes));
    const error = await failure(guarded(server.url).get('/item'));
    expect(axios.isAxiosError(error)).toBe(true);
    const classification = failureOf(error)!.classification;
    expect(FAILURE_KINDS).toContain(classification.kind);
    expect(classification.responseStarted).toBe(true);
    expect(server.connections).toBe(attemptOf(error)!.attempt);
  });

  it('is classified as a transient mid-response failure and retried: 4 attempts', async () => {
    const server = await serve((s) => s.end(bytes));
    const error = await failure(guarded(server.url).get('/item'));
    expect(classify(error)).toMatchObject({ retryable: true, responseStarted: true });
    expect(classify(error).kind).not.toBe('http-status');
    expect(attemptOf(error)!.attempt).toBe(4);
  });
});

describe('a POST on a reused keep-alive socket whose answer is a truncated head, then FIN', () => {
  // The server read the POST and began to answer, so it handled it. Node reports "socket
  // hang up" with no response object, the guard sees a stale-socket failure before any
  // response byte and (idle >= staleIdleMs) resends the POST once: the server gets it twice.
  it('is not resent: the server already began its answer', async () => {
    let posts = 0;
    const server = await serve((s, _n, head) => {
      if (head.startsWith('POST')) posts += 1;
      if (head.startsWith('POST') && posts === 1) s.end('HTTP/1.1 200 OK\r\nContent-Type: applic');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const client = guarded(server.url, { expert: { staleIdleMs: 50 } });
    await client.get('/warm');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const error = await failure(client.post('/orders', { id: 1 }));
    expect(axios.isAxiosError(error)).toBe(true);
    expect(posts).toBe(1);
  });
});

describe('arbitrary bytes as the whole response', () => {
  const PREFIXES = [
    '',
    'HTTP/1.1 200 OK\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
    'HTTP/1.1 204 No Content\r\n\r\n',
    'HTTP/1.0 503 Busy\r\n\r\n',
    'HTTP/1.1 100 Continue\r\n\r\n',
  ];
  // Raw bytes, or bytes after a plausible start so the parser gets past the status line.
  const response = fc
    .tuple(fc.constantFrom(...PREFIXES), fc.uint8Array({ maxLength: 512 }))
    .map(([prefix, tail]) => Buffer.concat([Buffer.from(prefix, 'latin1'), tail]).subarray(0, 512));
  // A hang is a request that does not settle for the watchdog's stall limit; the run of 50
  // is bounded by that per request, so jest's own timeout is only a backstop.
  const SETTLE_MS = STALL_MS;

  it(
    `a guarded GET settles exactly once within ${SETTLE_MS} ms; a rejection is a classified AxiosError`,
    async () => {
      let bytes: Uint8Array = Buffer.alloc(0);
      let reset = false;
      const server = await serve((s) => (reset ? writeThenReset(s, bytes) : s.end(bytes)));

      await fc.assert(
        fc.asyncProperty(response, fc.boolean(), async (generated, withReset) => {
          bytes = generated;
          reset = withReset;
          const client = createClient(testingOptions(), { baseURL: server.url });
          let timer: NodeJS.Timeout | undefined;
          try {
            const outcomes: { ok: boolean; value: unknown }[] = [];
            const request = client.get('/arbitrary').then(
              (value) => void outcomes.push({ ok: true, value }),
              (value: unknown) => void outcomes.push({ ok: false, value }),
            );
            const hang = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS)));
            await Promise.race([request, hang]);
            await new Promise((resolve) => setImmediate(resolve));
            expect({ settled: outcomes.length }).toEqual({ settled: 1 });
            const [outcome] = outcomes;
            if (!outcome!.ok) {
              expect(axios.isAxiosError(outcome!.value)).toBe(true);
              expect(FAILURE_KINDS).toContain(classify(outcome!.value).kind);
              expect(failureOf(outcome!.value)?.reason).toEqual(expect.any(String));
            }
            expect(attemptOf(outcome!.value)!.attempt).toBeGreaterThanOrEqual(1);
          } finally {
            clearTimeout(timer);
            client.guard.detach();
          }
        }),
        { numRuns: 50 },
      );
    },
    WATCHED_TIMEOUT_MS,
  );
});
