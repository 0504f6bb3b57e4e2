/**
 * orders.spec.ts in your project, for vitest: the same client and nock mocks as the jest
 * files, with vitest's imports and fake timers. vitest.config.mjs runs the *.spec.ts files.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { attemptOf } from 'axios-reset-guard';
import { resetError, testingOptions } from 'axios-reset-guard/testing';
import { createOrdersClient, type OrdersClient } from './orders-client';

const ORIGIN = 'http://orders.internal';
let client: OrdersClient;

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  client = createOrdersClient(ORIGIN, testingOptions());
});
afterEach(() => {
  vi.useRealTimers();
  client.guard.detach();
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

it('retries a GET after a connection reset (vitest)', async () => {
  nock(ORIGIN).get('/orders/42').replyWithError(resetError()).get('/orders/42').reply(200, { id: 42, status: 'paid' });

  const res = await client.api.get('/orders/42');

  expect(res.data).toEqual({ id: 42, status: 'paid' });
  expect(attemptOf(res)).toMatchObject({ attempt: 2, history: [{ kind: 'reset', code: 'ECONNRESET' }] });
});

it('recovers after 3 resets under vitest fake timers, without advancing the clock', async () => {
  // vitest's defaults leave process.nextTick and queueMicrotask real; nock needs setImmediate.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const scope = nock(ORIGIN).get('/orders/7').times(3).replyWithError(resetError());
  scope.get('/orders/7').reply(200, { id: 7, status: 'shipped' });

  const res = await client.api.get('/orders/7');

  expect(res.data).toEqual({ id: 7, status: 'shipped' });
  expect(attemptOf(res)?.attempt).toBe(4);
  expect(scope.isDone()).toBe(true);
});
