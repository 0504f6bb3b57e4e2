/**
 * nock-patterns.test.ts in your project: the common ways to mock a failing upstream with
 * nock, and what the guard does with each (the table of docs/testing.md). Runs with nock 14
 * (CommonJS jest) and nock 15 (ESM jest, Node >= 22.20); where they differ, the test says so.
 */
import axios, { type AxiosInstance } from 'axios';
import nock from 'nock';
import { attach, attemptOf, failureOf, type Guard, type GuardOptions } from 'axios-reset-guard';
import { hangUpError, resetError, testingOptions, type TestingOptions } from 'axios-reset-guard/testing';

const ORIGIN = 'http://orders.internal';
let api: AxiosInstance;
let guard: Guard | undefined;
let options: TestingOptions;

/** A guarded instance with instant waits; `timeout` is axios's own, per attempt. */
function guarded(given: GuardOptions = {}, timeout = 0): AxiosInstance {
  api = axios.create({ baseURL: ORIGIN, timeout });
  options = testingOptions(given);
  guard = attach(api, options);
  return api;
}

/** The failure a call ended with, or a test failure if it succeeded. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('the call succeeded');
    },
    (error: unknown) => error,
  );
}

// nock 15 dropped `delayConnection` (its README: use `delay`).
const hasDelayConnection = ((): boolean => {
  const probe = nock(ORIGIN).get('/') as { delayConnection?: unknown };
  nock.cleanAll();
  return typeof probe.delayConnection === 'function';
})();

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  guard?.detach();
  guard = undefined;
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

it('an Error with a code (resetError()): a reset, retried', async () => {
  nock(ORIGIN).get('/orders/1').replyWithError(resetError()).get('/orders/1').reply(200, { id: 1 });
  const res = await guarded().get('/orders/1');
  expect(attemptOf(res)).toMatchObject({ attempt: 2, history: [{ kind: 'reset', code: 'ECONNRESET' }] });
});

it("a plain object, replyWithError({ code: 'ECONNRESET' }): never settles; with an axios timeout it ends as a timeout", async () => {
  nock(ORIGIN).get('/orders/2').replyWithError({ code: 'ECONNRESET' }).get('/orders/2').reply(200, { id: 2 });
  const error = await failure(guarded({}, 50).get('/orders/2'));
  expect(error).toMatchObject({ code: 'ECONNABORTED' });
  expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 }, classification: { kind: 'timeout' } });
});

it("a string, replyWithError('socket hang up'): no code, so not a reset; hangUpError() is", async () => {
  nock(ORIGIN).get('/orders/3').replyWithError('socket hang up').get('/orders/3').reply(200, { id: 3 });
  const error = await failure(guarded().get('/orders/3'));
  expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 }, classification: { kind: 'other' } });
  expect(error).not.toHaveProperty('code', 'ECONNRESET');

  nock.cleanAll();
  nock(ORIGIN).get('/orders/3').replyWithError(hangUpError()).get('/orders/3').reply(200, { id: 3 });
  const res = await api.get('/orders/3');
  expect(attemptOf(res)).toMatchObject({ attempt: 2, history: [{ kind: 'reset', code: 'ECONNRESET' }] });
});

it('a slow answer past the axios timeout: a timeout, retried only with retryTimeouts', async () => {
  // nock 14: delayConnection; nock 15: delay (it sends the head at once and holds the body)
  const slow = (): nock.Interceptor => nock(ORIGIN).get('/orders/4');
  const delayed = (i: nock.Interceptor): nock.Interceptor =>
    hasDelayConnection
      ? (i as unknown as { delayConnection(ms: number): nock.Interceptor }).delayConnection(1_000)
      : i.delay(1_000);
  delayed(slow()).reply(200, { id: 4 });
  slow().reply(200, { id: 4 });

  if (hasDelayConnection) {
    const error = await failure(guarded({}, 50).get('/orders/4'));
    expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 }, classification: { kind: 'timeout' } });
    nock.cleanAll();
    delayed(slow()).reply(200, { id: 4 });
    slow().reply(200, { id: 4 });
    guard?.detach();
    const res = await guarded({ retryTimeouts: true }, 50).get('/orders/4');
    expect(attemptOf(res)).toMatchObject({ attempt: 2, history: [{ kind: 'timeout' }] });
    // nock 14's delay() holds the whole answer: a timeout too
    nock.cleanAll();
    slow().delay(1_000).reply(200, { id: 4 });
    const late = await failure(api.get('/orders/4', { resetGuard: { retryTimeouts: false } }));
    expect(failureOf(late)).toMatchObject({ attempt: { attempt: 1 }, classification: { kind: 'timeout' } });
  } else {
    // nock 15's delay() sends the head at once and holds the body: axios's timeout ends the
    // body over nock's own socket, with no reset error on it, so the guard does not resend
    const error = await failure(guarded({}, 500).get('/orders/4'));
    expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 } });
    expect(failureOf(error)!.classification.retryable).toBe(false);
  }
});

it('disableNetConnect: a request nothing mocks fails at once, not retried', async () => {
  const error = await failure(guarded().get('http://elsewhere.internal/orders'));
  expect(error).toMatchObject({ code: 'ENETUNREACH' });
  expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 }, classification: { kind: 'other' } });
});

it('503 then 200: a GET is retried, after the Retry-After the server asked for (not slept)', async () => {
  nock(ORIGIN).get('/orders/5').reply(503, '', { 'Retry-After': '2' }).get('/orders/5').reply(200, { id: 5 });
  const res = await guarded().get('/orders/5');
  expect(attemptOf(res)).toMatchObject({ attempt: 2, history: [{ kind: 'http-status', code: 'ERR_BAD_RESPONSE' }] });
  expect(options.plannedDelays).toEqual([2_000]);
});

it('a mocked host, a path no interceptor matches: nock 14 fails it, nock 15 answers 501; not retried', async () => {
  nock(ORIGIN).get('/orders/8').reply(200, { id: 8 });
  const error = await failure(guarded().get('/orders/unknown'));
  const expected = hasDelayConnection
    ? { code: 'ERR_NOCK_NO_MATCH', classification: { kind: 'other' } }
    : { code: 'ERR_BAD_RESPONSE', classification: { kind: 'http-status', status: 501 } };
  expect(error).toMatchObject({ code: expected.code });
  expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 }, classification: expected.classification });
});

it('a POST reset: not resent; with an Idempotency-Key: resent', async () => {
  const scope = nock(ORIGIN).post('/orders').replyWithError(resetError()).post('/orders').reply(201, { id: 6 });
  const error = await failure(guarded().post('/orders', { items: ['book'] }));
  expect(failureOf(error)).toMatchObject({ attempt: { attempt: 1 }, classification: { kind: 'reset' } });
  expect(scope.isDone()).toBe(false); // the second reply was never asked for

  nock.cleanAll();
  nock(ORIGIN).post('/orders').replyWithError(resetError()).post('/orders').reply(201, { id: 6 });
  const res = await api.post('/orders', { items: ['book'] }, { headers: { 'Idempotency-Key': 'order-6' } });
  expect(res.status).toBe(201);
  expect(attemptOf(res)?.attempt).toBe(2);
});
