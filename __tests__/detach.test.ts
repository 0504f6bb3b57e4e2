/**
 * attach() and detach(): a second attach refused, the instance left as it was, the
 * user's agents never destroyed, configs re-sent after detach, and detach() during a
 * wait or an attempt. With nock, then on real sockets.
 */
import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import nock from 'nock';
import { attach, attemptOf, failureOf, ResetGuardAttachError, type Guard, type GuardOptions } from '../src';
import { pause, startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { testingOptions } from '../src/testing';
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

  it('refuses a second attach and detach() leaves the instance as it was', () => {
    instance = axios.create({ baseURL: ORIGIN });
    const before = { agent: instance.defaults.httpAgent as unknown };
    guard = attach(instance);
    expect(() => attach(instance)).toThrow(ResetGuardAttachError);
    expect(instance.defaults.httpAgent).toBe(guard.agents.http);
    guard.detach();
    guard.detach();
    // retired: it keeps no socket once the requests it carries are done
    expect((guard.agents.http as unknown as { keepAlive: boolean }).keepAlive).toBe(false);
    expect(instance.defaults.httpAgent).toBe(before.agent);
    // no interceptor of ours is left (axios nulls ejected slots)
    const handlers = (instance.interceptors.request as unknown as { handlers: unknown[] }).handlers;
    expect(handlers.filter(Boolean)).toHaveLength(0);
    // and it can be attached again
    guard = attach(instance);
  });

  it("uses the user's agents and never destroys them", () => {
    const own = new http.Agent({ keepAlive: true });
    const destroy = jest.spyOn(own, 'destroy');
    instance = axios.create({ httpAgent: own });
    guard = attach(instance);
    expect(guard.agents.http).toBe(own);
    guard.detach();
    expect(destroy).not.toHaveBeenCalled();
    expect(instance.defaults.httpAgent).toBe(own);
    own.destroy();
  });

  it('a config re-sent through global axios, or after detach, starts a fresh logical request', async () => {
    setup({ retries: 1 });
    nock(ORIGIN).get('/r').times(2).replyWithError(reset());
    const first = await failure(instance.get('/r'));
    expect(attemptOf(first)).toMatchObject({ attempt: 2, maxAttempts: 2 });
    nock(ORIGIN).get('/r').replyWithError(reset()).get('/r').reply(200, 'ok');
    const again = await axios.request(first.config!);
    expect(attemptOf(again)).toMatchObject({ attempt: 2, maxAttempts: 2 });
    expect(attemptOf(again)!.requestId).not.toBe(attemptOf(first)!.requestId);
    guard.detach();
    nock(ORIGIN).get('/r').reply(200, 'plain');
    expect((await axios.request(first.config!)).data).toBe('plain');
  });

  it('a config re-sent after detach carries no stale attempt metadata', async () => {
    setup({ retries: 1 });
    nock(ORIGIN).get('/d').times(2).replyWithError(reset());
    const first = await failure(instance.get('/d'));
    guard.detach();
    nock(ORIGIN).get('/d').replyWithError(reset());
    const again = await failure(instance.request(first.config!));
    expect(attemptOf(again)).toBeUndefined();
  });

  it('detach() ends a pending wait; nothing more is sent', async () => {
    setup(
      testingOptions(
        { beforeRetry: () => void setImmediate(() => guard.detach()) },
        {
          random: () => 1,
          // ends only when aborted: if detach() did not abort it, the test would hang
          sleep: (_ms, signal) =>
            new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))),
        },
      ),
    );
    const scope = nock(ORIGIN).get('/w').replyWithError(reset());
    const error = await failure(instance.get('/w'));
    expect(scope.isDone()).toBe(true);
    expect(failureOf(error)!.reason).toBe('the guard was detached while the request was waiting to retry');
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  it('detach() while a POST is in flight: it finishes, once; then the retired agent closes its sockets', async () => {
    let posts = 0;
    let answer = (): void => undefined;
    const server = await serve(
      startHttpServer({
        handler: (req, res) => {
          if (req.method !== 'POST') return void res.end('warm');
          posts += 1; // applied, answered only after detach()
          answer = () => res.end('applied');
        },
      }),
    );
    const { api, guard } = guarded(server.url);
    await Promise.all([api.get('/warm/1'), api.get('/warm/2')]); // two pooled sockets
    expect(guard.stats().agents.http!.freeSockets).toBe(2);
    const pending = api.post<string>('/orders', { id: 2 });
    while (posts === 0) await pause(5);
    guard.detach();
    // the idle socket closes (its 'close' comes a moment later); the busy one stays
    while (guard.stats().agents.http!.freeSockets > 0) await pause(5);
    expect(guard.stats().agents.http!.activeSockets).toBe(1);
    answer();
    const res = await pending;
    expect([res.status, res.data, posts]).toEqual([200, 'applied', 1]);
    // the socket that carried it is not pooled: it closes, and the agent holds nothing
    while (guard.stats().agents.http!.activeSockets > 0) await pause(5);
    expect(guard.stats().agents.http!).toMatchObject({ freeSockets: 0, closedSockets: 2 });
    // and the instance goes on without the guard
    expect((await api.get<string>('/after')).data).toBe('warm');
  });

  it('a request in flight at detach() that then fails is not retried', async () => {
    let posts = 0;
    let die = (): void => undefined;
    const server = await serve(
      startHttpServer({
        handler: (_req, res) => {
          posts += 1;
          die = () => res.socket?.resetAndDestroy(); // once the guard is gone
        },
      }),
    );
    const { api, guard } = guarded(server.url);
    const pending = failure(api.get('/x'));
    while (posts === 0) await pause(5);
    guard.detach();
    die();
    const error = await pending;
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)!.reason).toBe('the guard was detached while the request was in flight');
    expect(posts).toBe(1);
  });

  it('detach() ends a pending wait at once; the request fails with the detached reason', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    // a sleep that only ends when aborted: without detach() aborting it, this test would hang
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const { api, guard } = guarded(
      server.url,
      testingOptions(
        { beforeRetry: () => void setImmediate(() => guard.detach()) },
        { sleep, random: () => 1 }, // a 200 ms backoff, so there is a wait to end
      ),
    );
    const error = await failure(api.get('/'));
    expect(failureOf(error)!.reason).toBe('the guard was detached while the request was waiting to retry');
    expect(server.hits).toBe(1);
  });

  it('a streamed error body stays readable when the retry is called off after the hook', async () => {
    const server = await serve(
      startHttpServer({ handler: (_req, res) => res.writeHead(503, { 'retry-after': '0' }).end('busy-body') }),
    );
    const holder: { guard?: ReturnType<typeof guarded>['guard'] } = {};
    const { api, guard } = guarded(server.url, { beforeRetry: () => holder.guard!.detach() });
    holder.guard = guard;
    const error = await failure(api.get('/', { responseType: 'stream' }));
    let body = '';
    for await (const chunk of error.response!.data as NodeJS.ReadableStream) body += String(chunk);
    expect(body).toBe('busy-body');
  });
});
