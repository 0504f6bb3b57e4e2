/**
 * orders.test.ts in your project: proves the client rides out a connection reset, and
 * that a POST is not resent, without a real flaky server. nock replaces the network.
 */
import nock from 'nock';
import { attemptOf, failureOf } from 'axios-reset-guard';
import { resetError, testingOptions } from 'axios-reset-guard/testing';
import { createOrdersClient, type OrdersClient } from './orders-client';

const ORIGIN = 'http://orders.internal';

let client: OrdersClient;

beforeAll(() => nock.disableNetConnect()); // a request nock does not expect fails the test
beforeEach(() => {
  // No real backoff waits in unit tests: every wait is instant and arms no timer.
  client = createOrdersClient(ORIGIN, testingOptions());
});
afterEach(() => {
  client.guard.detach(); // destroys the client's keep-alive agents
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore(); // un-patches node:http for the other test files of this process
});

it('retries a GET after a connection reset: attempt 2 answers', async () => {
  const scope = nock(ORIGIN)
    .get('/orders/42')
    .replyWithError(resetError()) // first attempt: the connection is reset
    .get('/orders/42')
    .reply(200, { id: 42, status: 'paid' }); // second attempt succeeds

  const res = await client.api.get('/orders/42');

  expect(res.status).toBe(200);
  expect(res.data).toEqual({ id: 42, status: 'paid' });
  expect(scope.isDone()).toBe(true); // both replies were used: the request was sent twice
  const attempt = attemptOf(res);
  expect(attempt).toMatchObject({ attempt: 2, maxAttempts: 4 });
  expect(attempt?.history).toMatchObject([{ attempt: 1, kind: 'reset', code: 'ECONNRESET' }]);
});

it('hides the reset from the caller of getOrder()', async () => {
  nock(ORIGIN).get('/orders/7').replyWithError(resetError()).get('/orders/7').reply(200, { id: 7, status: 'shipped' });

  await expect(client.getOrder(7)).resolves.toEqual({ id: 7, status: 'shipped' });
  expect(client.guard.stats()).toMatchObject({ requests: 1, attempts: 2, retries: 1, recovered: 1 });
});

it('does not resend a POST after a reset: the server may have placed the order', async () => {
  const scope = nock(ORIGIN)
    .post('/orders')
    .replyWithError(resetError())
    .post('/orders') // a second attempt would take this reply: it must stay unused
    .reply(201, { id: 99, status: 'pending' });

  const error: unknown = await client.placeOrder(['book']).then(
    () => undefined,
    (e: unknown) => e,
  );

  expect(error).toMatchObject({ code: 'ECONNRESET' }); // still the AxiosError, same code
  expect(failureOf(error)).toMatchObject({
    attempt: { attempt: 1 },
    classification: { kind: 'reset' },
    reason: 'POST is not idempotent and a reset failure may have reached the server',
  });
  expect(scope.pendingMocks()).toEqual(['POST http://orders.internal:80/orders']);
  expect(client.guard.stats()).toMatchObject({ attempts: 1, retries: 0, gaveUp: 1 });
});
