/**
 * What may be sent twice: non-idempotent methods, idempotency keys (given by the caller
 * or added by the guard), request bodies resent byte for byte, stream bodies never
 * resent, refused connections (no byte sent). With nock, then on real sockets where a
 * server counts what it applied.
 */
import { Readable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import nock from 'nock';
import { attemptOf, failureOf, type Guard, type GuardOptions } from '../src';
import { startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';

let instance: AxiosInstance;
let guard: Guard;

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard } = rig(ORIGIN, options, config));
}

// nock first: its afterAll un-patches node:http before the real-socket tests run.
describe('with nock', () => {
  useNock(() => guard);

  describe('method and body rules', () => {
    it('does not resend a POST after a reset on a fresh connection', async () => {
      setup();
      const second = nock(ORIGIN).post('/orders').replyWithError(reset()).post('/orders').reply(201);
      const error = await failure(instance.post('/orders', { id: 1 }));
      expect(error.code).toBe('ECONNRESET');
      expect(failureOf(error)!.reason).toBe('POST is not idempotent and a reset failure may have reached the server');
      expect(second.pendingMocks()).toHaveLength(1);
      expect(guard.stats().gaveUp).toBe(1);
    });

    it('resends a POST carrying an Idempotency-Key, with the very same body and headers', async () => {
      setup();
      const seen: { body: unknown; type: string | undefined; key: string | undefined }[] = [];
      const record = function (this: nock.ReplyFnContext, _uri: string, body: nock.Body): void {
        seen.push({ body, type: this.req.headers['content-type'], key: this.req.headers['idempotency-key'] });
      };
      nock(ORIGIN)
        .post('/orders')
        .replyWithError(reset())
        .post('/orders')
        .reply(function (uri, body) {
          record.call(this, uri, body);
          return [201, { created: true }];
        });
      const res = await instance.post('/orders', { id: 7, note: 'é' }, { headers: { 'Idempotency-Key': 'k-1' } });
      expect(res.status).toBe(201);
      expect(res.data).toEqual({ created: true });
      expect(seen).toEqual([{ body: { id: 7, note: 'é' }, type: 'application/json', key: 'k-1' }]);
    });

    it.each([
      ['a JSON object', { a: [1, 2], s: 'é' }, '{"a":[1,2],"s":"é"}', 'application/json', {}],
      ['a string that is not JSON', 'plain "text"', 'plain "text"', 'text/plain', { 'Content-Type': 'text/plain' }],
      [
        'URLSearchParams',
        new URLSearchParams({ q: 'a b' }),
        'q=a+b',
        'application/x-www-form-urlencoded;charset=utf-8',
        {},
      ],
      [
        'a Buffer',
        Buffer.from('bytes'),
        'bytes',
        'application/octet-stream',
        { 'Content-Type': 'application/octet-stream' },
      ],
    ])('resends %s exactly as first sent (PUT)', async (_name, data, raw, type, headers) => {
      setup();
      const sent: { body: string; type: unknown }[] = [];
      const scope = nock(ORIGIN).put('/doc').replyWithError(reset()).put('/doc').reply(200, 'ok');
      // nock reports every matched request, the failed one included, with the body it got
      scope.on('request', (req: { headers: Record<string, unknown> }, _interceptor: unknown, body: string) => {
        sent.push({ body, type: req.headers['content-type'] });
      });
      const res = await instance.put('/doc', data, { headers });
      expect(res.status).toBe(200);
      expect(attemptOf(res)!.attempt).toBe(2);
      expect(sent).toEqual([
        { body: raw, type },
        { body: raw, type },
      ]);
    });

    it('never resends a stream body: the original error plus the reason', async () => {
      setup();
      const scope = nock(ORIGIN).put('/upload').replyWithError(reset()).put('/upload').reply(200);
      const error = await failure(instance.put('/upload', Readable.from(['chunk-1', 'chunk-2'])));
      expect(error.code).toBe('ECONNRESET');
      expect(failureOf(error)!.reason).toMatch(/body is a stream/);
      expect(attemptOf(error)!.attempt).toBe(1);
      expect(scope.pendingMocks()).toHaveLength(1);
    });
  });

  describe('idempotency keys', () => {
    it('adds one Idempotency-Key to a POST, the same on every attempt, and retries it', async () => {
      setup({ idempotencyKey: true });
      const keys: (string | undefined)[] = [];
      nock(ORIGIN)
        .post('/pay')
        .reply(function () {
          keys.push(this.req.headers['idempotency-key']);
          return [503, 'busy'];
        })
        .post('/pay')
        .reply(function () {
          keys.push(this.req.headers['idempotency-key']);
          return [201, 'paid'];
        });
      const res = await instance.post('/pay', { amount: 5 });
      expect(res.data).toBe('paid');
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]);
    });

    it('uses a factory, keeps a key the caller set, and leaves GET alone', async () => {
      setup({ idempotencyKey: (config) => `order-${String((config.data as string).length)}` });
      const seen: unknown[] = [];
      nock(ORIGIN)
        .post('/a')
        .reply(function () {
          seen.push(this.req.headers['idempotency-key']);
          return [200];
        })
        .post('/b')
        .reply(function () {
          seen.push(this.req.headers['idempotency-key']);
          return [200];
        })
        .get('/c')
        .reply(function () {
          seen.push(this.req.headers['idempotency-key']);
          return [200];
        });
      await instance.post('/a', 'abc');
      await instance.post('/b', 'abc', { headers: { 'Idempotency-Key': 'mine' } });
      await instance.get('/c');
      expect(seen).toEqual(['order-3', 'mine', undefined]);
    });

    it('a factory returning garbage fails the request with a typed error naming the option', async () => {
      setup({ idempotencyKey: () => 'bad\nkey' });
      const error = (await instance.post('/x', {}).catch((e: unknown) => e)) as Error & { option: string };
      expect(error.name).toBe('ResetGuardOptionError');
      expect(error.option).toBe('idempotencyKey');
    });
  });

  it('a POST whose connection was refused is retried: no byte was sent', async () => {
    setup();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    nock(ORIGIN).post('/orders').replyWithError(refused).post('/orders').reply(201, 'created');
    const res = await instance.post<string>('/orders', { id: 1 });
    expect(res.data).toBe('created');
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'refused' }]);
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  describe('a server that resets new connections', () => {
    it.each([false, null, ''])(
      'an Idempotency-Key header set to %p is no key (not sent, or empty): the POST is not resent',
      async (value) => {
        const server = await serve(startHttpServer({ resetFirst: 1 }));
        const { api } = guarded(server.url, { idempotencyKey: true });
        const error = await failure(api.post('/orders', { id: 1 }, { headers: { 'Idempotency-Key': value as never } }));
        expect(failureOf(error)!.reason).toMatch(/POST is not idempotent/);
        expect(server.hits).toBe(1);
        expect(server.headers[0]!['idempotency-key'] ?? '').toBe(''); // absent, or empty: no key
      },
    );

    it('POST on a fresh-connection reset is not retried', async () => {
      const server = await serve(startHttpServer({ resetFirst: 1 }));
      const { api } = guarded(server.url);
      const error = await failure(api.post('/orders', { id: 1 }));
      expect(error.code).toBe('ECONNRESET');
      expect(axios.isAxiosError(error)).toBe(true);
      expect(failureOf(error)!.classification.kind).toBe('reset');
      expect(failureOf(error)!.reason).toMatch(/POST is not idempotent/);
      expect(server.hits).toBe(1);
    });

    it('a stream body is not resent: one attempt, the original error and the reason', async () => {
      const server = await serve(startHttpServer({ resetFirst: 1 }));
      const { api } = guarded(server.url);
      const error = await failure(api.put('/upload', Readable.from(['part-1,', 'part-2'])));
      expect(error.code).toBe('ECONNRESET');
      expect(failureOf(error)!.reason).toMatch(/stream/);
      expect(server.hits).toBe(1);
      expect(server.bodies).toEqual(['part-1,part-2']);
    });
  });

  describe('idempotency keys on a real server', () => {
    it('a POST reset mid-response is resent with the same key; the server applies it once', async () => {
      const applied = new Map<string, number>();
      const server = await serve(
        startHttpServer({
          handler: (req, res, n) => {
            const key = String(req.headers['idempotency-key']);
            // a real server with idempotency keys: apply once per key, replay the stored result
            applied.set(key, (applied.get(key) ?? 0) + (applied.has(key) ? 0 : 1));
            res.writeHead(201, { 'content-type': 'application/json', 'content-length': '100' });
            if (n === 1) {
              res.write('{"partial":');
              setTimeout(() => res.socket?.resetAndDestroy(), 20);
            } else res.end(JSON.stringify({ key, pad: 'x'.repeat(100 - 19 - key.length) }));
          },
        }),
      );
      const { api } = guarded(server.url, { idempotencyKey: true });
      const res = await api.post<{ key: string }>('/payments', { amount: 10 });
      expect(res.status).toBe(201);
      expect(attemptOf(res)!.history).toMatchObject([{ kind: 'reset-mid-response' }]);
      expect(server.headers.map((h) => h['idempotency-key'])).toEqual([res.data.key, res.data.key]);
      expect([...applied.values()]).toEqual([1]);
    });

    it('without a key the same POST is not resent, and says why', async () => {
      const server = await serve(
        startHttpServer({
          handler: (_req, res) => {
            res.writeHead(201, { 'content-length': '100' });
            res.write('{"partial":');
            setTimeout(() => res.socket?.resetAndDestroy(), 20);
          },
        }),
      );
      const { api } = guarded(server.url);
      const error = await failure(api.post('/payments', { amount: 10 }));
      expect(failureOf(error)!.reason).toBe(
        'POST is not idempotent and a reset-mid-response failure may have reached the server',
      );
      expect(server.hits).toBe(1);
    });
  });

  it('a POST whose connection was refused is retried once the server is up', async () => {
    const probe = await startHttpServer();
    const { port } = probe;
    await probe.close(); // nothing listens there now
    const { api } = guarded(`http://127.0.0.1:${port}`, {
      beforeRetry: async () => {
        await serve(startHttpServer({ port }));
      },
    });
    const res = await api.post<{ method: string }>('/orders', { id: 3 });
    expect(res.data.method).toBe('POST');
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'refused' }]);
  });
});
