/**
 * `axios-reset-guard/testing`: its errors are the ones Node makes (each compared field by
 * field with one produced on a real socket on this Node, so a Node release that changes
 * them fails here), the guard classifies them as it classifies the real ones, and through
 * nock they drive the guard as a real failure would; `testingOptions()` makes every wait
 * instant, records the planned ones, and is the only way in for the test seams.
 */
import { execFile, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import axios, { AxiosError } from 'axios';
import nock from 'nock';
import { attach, attemptOf, classify, failureOf, ResetGuardOptionError, type Guard } from '../src';
import {
  attemptOf as attemptOfTesting,
  hangUpError,
  pipeError,
  refusedError,
  resetError,
  testingOptions,
  timedOutError,
  tlsResetError,
} from '../src/testing';
import { CLOSED_PORT } from '../testbed';
import { failure } from './support/failure';

// nock patches node:http when loaded: the real-socket tests run without it, the nock ones with it.
nock.restore();

/** What a test (or the guard) can see of an error: its class, name, message and every own field. */
function shapeOf(error: unknown): Record<string, unknown> {
  const e = error as Error & Record<string, unknown>;
  return {
    name: e.name,
    // by name: jest's test realm has an Error of its own, Node's internals the host's
    constructor: e.constructor.name,
    tag: Object.prototype.toString.call(e),
    enumerable: Object.keys(e),
    fields: Object.fromEntries(Object.getOwnPropertyNames(e).map((k) => [k, k === 'stack' ? typeof e[k] : e[k]])),
  };
}

/** The first error `socket` emits. */
const firstError = (emitter: NodeJS.EventEmitter): Promise<Error> =>
  new Promise((resolve) => emitter.once('error', resolve));

/** A loopback TCP server running `onConnection`; closed by the caller. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<net.Server & { port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined); // the client's RST, in the reset tests
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as net.AddressInfo).port });
}
const closed = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('the errors are the ones Node makes, field by field, on this Node', () => {
  it('resetError(): read ECONNRESET, the server reset the connection while the client read', async () => {
    const server = await tcpServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    try {
      const client = net.connect(server.port, '127.0.0.1');
      const real = firstError(client);
      client.write('GET / HTTP/1.1\r\n\r\n');
      expect(shapeOf(resetError())).toEqual(shapeOf(await real));
    } finally {
      await closed(server);
    }
  });

  it("hangUpError(): http's ClientRequest, closed before any response", async () => {
    const server = http.createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const real = await firstError(http.get({ host: '127.0.0.1', port, agent: false }));
      expect(shapeOf(hangUpError())).toEqual(shapeOf(real));
    } finally {
      await closed(server);
    }
  });

  it('pipeError(): write EPIPE, written to a connection the server had closed', async () => {
    // The server closes at once (nothing unread: a FIN, not an RST); the client (half-open, so
    // its side stays writable) writes after the FIN: the first write draws an RST, a later
    // one fails with EPIPE.
    const server = await tcpServer((socket) => socket.destroy());
    const client = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      const real = firstError(client);
      client.resume();
      await new Promise((resolve) => client.once('end', resolve));
      let error: Error | undefined;
      void real.then((e) => (error = e));
      // bounded: the RST comes back within a round trip on loopback
      for (let i = 0; i < 1000 && error === undefined; i += 1) {
        client.write(Buffer.alloc(1024));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(shapeOf(pipeError())).toEqual(shapeOf(await real));
    } finally {
      client.destroy();
      await closed(server);
    }
  });

  it('refusedError(port): connect ECONNREFUSED, nothing listens there', async () => {
    const real = await firstError(net.connect(CLOSED_PORT, '127.0.0.1'));
    expect(shapeOf(refusedError(CLOSED_PORT))).toEqual(shapeOf(real));
  });

  it('tlsResetError(host, port): the server closed the connection during the TLS handshake', async () => {
    const server = await tcpServer((socket) => socket.destroy());
    try {
      const real = await firstError(tls.connect({ host: '127.0.0.1', port: server.port }));
      expect(shapeOf(tlsResetError('127.0.0.1', server.port))).toEqual(shapeOf(real));
    } finally {
      await closed(server);
    }
  });

  // A connect that times out needs SYNs that go unanswered: in a network namespace of its
  // own, nftables drops them on loopback and one SYN retry (about 3 s) ends the connect.
  const netns = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0 ? it : it.skip;
  netns(
    'timedOutError(port): connect ETIMEDOUT, the SYNs went unanswered',
    async () => {
      const ns = `arg-${process.pid}-timedout`;
      const sh = (script: string): void => {
        const run = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`${script}: ${run.stderr}`);
      };
      const probe = `const s = require('node:net').connect(9, '127.0.0.1');
s.on('error', (e) => { console.log(JSON.stringify({ keys: Object.keys(e), names: Object.getOwnPropertyNames(e).filter((k) => k !== 'stack'),
  fields: Object.fromEntries(Object.getOwnPropertyNames(e).filter((k) => k !== 'stack').map((k) => [k, e[k]])),
  constructor: e.constructor.name, tag: Object.prototype.toString.call(e) })); });`;
      sh(`ip netns add ${ns}`);
      try {
        sh(
          `ip netns exec ${ns} sh -c 'ip link set lo up && sysctl -qw net.ipv4.tcp_syn_retries=1 && ` +
            `nft add table inet t && nft add chain inet t out "{ type filter hook output priority 0; }" && ` +
            `nft add rule inet t out tcp dport 9 drop'`,
        );
        const out = await new Promise<string>((resolve, reject) =>
          execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', probe], { timeout: 60_000 }, (error, stdout) =>
            error === null ? resolve(stdout) : reject(new Error(error.message)),
          ),
        );
        const real = JSON.parse(out) as Record<string, unknown>;
        const made = timedOutError(9);
        expect({
          keys: Object.keys(made),
          names: Object.getOwnPropertyNames(made).filter((k) => k !== 'stack'),
          fields: { ...made, message: made.message },
          constructor: made.constructor.name,
          tag: Object.prototype.toString.call(made),
        }).toEqual(real);
      } finally {
        spawnSync('ip', ['netns', 'del', ns]);
      }
    },
    60_000,
  );
});

describe('the guard classifies them as the real ones', () => {
  it.each([
    ['resetError()', resetError(), 'reset', true],
    ['hangUpError()', hangUpError(), 'reset', true],
    ['pipeError()', pipeError(), 'reset', true],
    ['refusedError()', refusedError(), 'refused', true],
    ['timedOutError()', timedOutError(), 'timeout', true],
    ['tlsResetError()', tlsResetError(), 'tls-reset', true],
  ] as const)('%s', (_name, error, kind, retryable) => {
    expect(classify(error)).toMatchObject({ kind, retryable, code: (error as { code: string }).code });
  });

  it('attemptOf is the main entry’s own', () => {
    expect(attemptOfTesting).toBe(attemptOf);
  });
});

describe('through nock, as a mocked upstream', () => {
  const ORIGIN = 'http://api.test';
  let guard: Guard | undefined;
  beforeAll(() => {
    nock.activate();
    nock.disableNetConnect();
  });
  afterEach(() => {
    guard?.detach();
    guard = undefined;
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
    nock.restore();
  });

  it.each([
    ['resetError()', resetError],
    ['hangUpError()', hangUpError],
    ['pipeError()', pipeError],
    ['refusedError()', () => refusedError()],
    ['tlsResetError()', () => tlsResetError()],
  ])('replyWithError(%s) then 200: a GET succeeds on attempt 2', async (_name, make) => {
    const api = axios.create({ baseURL: ORIGIN });
    const options = testingOptions({ retries: 2 });
    guard = attach(api, options);
    const scope = nock(ORIGIN).get('/items').replyWithError(make()).get('/items').reply(200, ['a']);
    const res = await api.get('/items');
    expect(res.data).toEqual(['a']);
    expect(attemptOf(res)?.attempt).toBe(2);
    expect(scope.isDone()).toBe(true);
    expect(options.plannedDelays).toHaveLength(1);
  });

  it('two resets then 200: the planned waits are recorded (jitter 0.5 over 200 ms doubled)', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    const options = testingOptions({ retries: 3 });
    guard = attach(api, options);
    nock(ORIGIN).get('/items').times(2).replyWithError(resetError()).get('/items').reply(200, 'ok');
    const res = await api.get('/items');
    expect(attemptOf(res)?.history.map((f) => f.kind)).toEqual(['reset', 'reset']);
    expect(options.plannedDelays).toEqual([100, 200]);
  });

  it('timedOutError() is not retried by default (the server may be working on it), and is with retryTimeouts', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    guard = attach(api, testingOptions());
    nock(ORIGIN).get('/slow').replyWithError(timedOutError()).get('/slow').reply(200, 'ok');
    const error = await failure(api.get('/slow'));
    expect(error.code).toBe('ETIMEDOUT');
    expect(failureOf(error)?.attempt.attempt).toBe(1);
    nock.cleanAll();
    nock(ORIGIN).get('/slow').replyWithError(timedOutError()).get('/slow').reply(200, 'ok');
    const res = await api.get('/slow', { resetGuard: { retryTimeouts: true } });
    expect(attemptOf(res)?.history.map((f) => f.kind)).toEqual(['timeout']);
  });

  it("replyWithError('socket hang up') (a string: no code) is not a reset; the reason says what to change", async () => {
    const api = axios.create({ baseURL: ORIGIN });
    guard = attach(api, testingOptions());
    nock(ORIGIN).get('/items').replyWithError('socket hang up').get('/items').reply(200, 'ok');
    const error = await failure(api.get('/items'));
    expect(error.message).toBe('socket hang up');
    expect(failureOf(error)?.classification).toMatchObject({ kind: 'other', code: undefined });
    expect(failureOf(error)?.reason).toBe(
      "an other failure is not retried: this error has no `code`; Node's resets carry " +
        "`code: 'ECONNRESET'`: in a nock mock use `replyWithError(resetError())` of axios-reset-guard/testing",
    );
  });

  it("axios-retry's option names are accepted by attach(), not listed as unknown", async () => {
    const api = axios.create({ baseURL: ORIGIN });
    const delays: number[] = [];
    guard = attach(
      api,
      testingOptions({ retries: 1, retryDelay: () => 7, shouldResetTimeout: true, validateResponse: null }),
    );
    nock(ORIGIN).get('/items').replyWithError(resetError()).get('/items').reply(200, 'ok');
    const res = await api.get('/items', { resetGuard: { beforeRetry: (info) => void delays.push(info.delayMs) } });
    expect(attemptOf(res)?.attempt).toBe(2);
    expect(delays).toEqual([7]);
  });

  it('a POST reset is not resent without a key (it may have been applied); with one it is', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    guard = attach(api, testingOptions());
    nock(ORIGIN).post('/orders').replyWithError(resetError()).post('/orders').reply(201, 'made');
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(failureOf(error)?.reason).toMatch(/POST/);
    const res = await api.post('/orders', { id: 1 }, { resetGuard: { idempotencyKey: true } });
    expect(res.status).toBe(201);
  });
});

describe('testingOptions()', () => {
  it("merges the user's options and leaves them as they were", () => {
    const mine = { retries: 5, expert: { staleIdleMs: 10 } };
    const options = testingOptions(mine);
    expect(options).toMatchObject(mine);
    expect(mine).toEqual({ retries: 5, expert: { staleIdleMs: 10 } });
    const guard = attach(axios.create(), options);
    try {
      expect(guard.options).toMatchObject({ retries: 5, staleIdleMs: 10 });
    } finally {
      guard.detach();
    }
  });

  it('plannedDelays is not an option: not enumerable, so a spread copy still attaches and records into it', async () => {
    const options = testingOptions({}, { random: () => 1 });
    expect(Object.keys(options)).toEqual([]);
    let calls = 0;
    const api = axios.create({
      adapter: (config) => {
        calls += 1;
        return calls === 1
          ? Promise.reject(AxiosError.from(resetError(), 'ECONNRESET', config))
          : Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config });
      },
    });
    const guard = attach(api, { ...options, retries: 1 });
    try {
      await api.get('http://example.test/');
      expect(options.plannedDelays).toEqual([200]);
    } finally {
      guard.detach();
    }
  });

  it.each(['random', 'sleep'])('%s passed to attach() is refused, naming where it moved', (name) => {
    const attempt = (): Guard => attach(axios.create(), { [name]: () => 0 });
    expect(attempt).toThrow(ResetGuardOptionError);
    expect(attempt).toThrow(
      `option "${name}" must be set as a seam of testingOptions() (axios-reset-guard/testing): it moved there in 0.2.0`,
    );
  });

  it('a seam of the wrong type is refused like an option', () => {
    expect(() => attach(axios.create(), testingOptions({}, { random: 0.5 as never }))).toThrow(
      'option "testingOptions seams.random" must be a function, got 0.5',
    );
  });

  it('a request may not pass seams in config.resetGuard', async () => {
    const api = axios.create({ adapter: () => Promise.reject(new Error('not sent')) });
    const guard = attach(api);
    try {
      const error = await failure(api.get('http://example.test/', { resetGuard: { sleep: () => 0 } as never }));
      expect(error).toBeInstanceOf(ResetGuardOptionError);
      expect(error.message).toContain('option "resetGuard.sleep" must be set as a seam of testingOptions()');
    } finally {
      guard.detach();
    }
  });

  it('a retryDelay of yours plans the waits: recorded as it returned them, none slept', async () => {
    const options = testingOptions({ retries: 2, retryDelay: (retryCount) => 60_000 * retryCount });
    let calls = 0;
    const api = axios.create({
      adapter: (config) => {
        calls += 1;
        return calls <= 2
          ? Promise.reject(AxiosError.from(resetError(), 'ECONNRESET', config))
          : Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config });
      },
    });
    const guard = attach(api, options);
    try {
      await api.get('http://example.test/');
      expect(options.plannedDelays).toEqual([60_000, 120_000]);
    } finally {
      guard.detach();
    }
  });

  it("testingOptions() given as a request's resetGuard is refused: its seams apply only to attach()", async () => {
    // Not refused, the request would wait the production backoff with plannedDelays left
    // empty, and hang under fake timers.
    let sent = 0;
    const api = axios.create({
      adapter: (config) => {
        sent += 1;
        return Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config });
      },
    });
    const guard = attach(api);
    try {
      const options = testingOptions({ retries: 2 });
      for (const resetGuard of [options, { ...options, retries: 3 }]) {
        const error = await failure(api.get('http://example.test/', { resetGuard }));
        expect(error).toBeInstanceOf(ResetGuardOptionError);
        expect(error.message).toContain('option "resetGuard" must be options without the test seams');
      }
      expect(sent).toBe(0);
    } finally {
      guard.detach();
    }
  });
});
