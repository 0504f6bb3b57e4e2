/**
 * fake-timers.test.ts in your project: the client under jest's modern fake timers. nock
 * answers through process.nextTick and setImmediate, so those stay real; testingOptions()
 * makes every wait between attempts instant without arming a timer, so a request that needs
 * 3 retries completes without advancing the fake clock.
 */
import { jest } from '@jest/globals'; // in ESM mode, jest is not a global
import nock from 'nock';
import { attemptOf } from 'axios-reset-guard';
import { resetError, testingOptions } from 'axios-reset-guard/testing';
import { createOrdersClient } from './orders-client';

const ORIGIN = 'http://orders.internal';

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
});
afterEach(() => {
  jest.useRealTimers();
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

it('3 resets, then an answer: attempt 4, the planned backoff recorded, the fake clock untouched', async () => {
  const options = testingOptions({ retries: 3 });
  const client = createOrdersClient(ORIGIN, options);
  const scope = nock(ORIGIN).get('/orders/9').times(3).replyWithError(resetError());
  scope.get('/orders/9').reply(200, { id: 9, status: 'paid' });
  const start = Date.now(); // the fake clock

  try {
    await expect(client.getOrder(9)).resolves.toEqual({ id: 9, status: 'paid' });
  } finally {
    client.guard.detach();
  }

  expect(scope.isDone()).toBe(true);
  expect(client.guard.stats()).toMatchObject({ attempts: 4, retries: 3, recovered: 1 });
  expect(options.plannedDelays).toHaveLength(3); // the waits the guard planned, none slept
  expect(Date.now()).toBe(start);
});

it('attemptOf(res).history lists the 3 failed attempts', async () => {
  const client = createOrdersClient(ORIGIN, testingOptions({ retries: 3 }));
  nock(ORIGIN).get('/orders/10').times(3).replyWithError(resetError()).get('/orders/10').reply(200, { id: 10 });
  try {
    const res = await client.api.get('/orders/10');
    expect(attemptOf(res)?.history.map((h) => [h.attempt, h.kind])).toEqual([
      [1, 'reset'],
      [2, 'reset'],
      [3, 'reset'],
    ]);
  } finally {
    client.guard.detach();
  }
});
