/**
 * Adapters other than axios's http one, proven with nock: a reset found through
 * error.cause with the fetch adapter, and a user's own adapter function. The fetch
 * adapter on real sockets is in adapters.test.ts, a file of its own: axios keeps the
 * `fetch` it first used for its module registry, so after a nock fetch test, the patched
 * one would stay in use in this file even once nock.restore() ran.
 */
import axios, { AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import nock from 'nock';
import { attach, attemptOf, type Guard, type GuardOptions } from '../src';
import { testingOptions } from '../src/testing';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';

let instance: AxiosInstance;
let guard: Guard;

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard } = rig(ORIGIN, options, config));
}

useNock(() => guard);

it("with adapter: 'fetch', a reset is found in error.cause and retried", async () => {
  setup({}, { adapter: 'fetch' });
  nock(ORIGIN).get('/f').replyWithError(reset()).get('/f').reply(200, 'fetched');
  const res = await instance.get<string>('/f');
  expect(res.data).toBe('fetched');
  expect(attemptOf(res)!.history).toMatchObject([{ kind: 'reset' }]);
});

it("sends attempts to the user's own adapter function, first directly then through the retry loop", async () => {
  const calls: string[] = [];
  instance = axios.create({ baseURL: ORIGIN });
  guard = attach(instance, testingOptions({ attemptHeader: true }));
  const adapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    calls.push(String(config.headers.get('x-request-attempt')));
    if (calls.length < 3) return Promise.reject(new AxiosError('read ECONNRESET', 'ECONNRESET', config));
    return Promise.resolve({ data: '{"ok":true}', status: 200, statusText: 'OK', headers: {}, config });
  };
  const res = await instance.get('/custom', { adapter });
  expect(calls).toEqual(['1/4', '2/4', '3/4']);
  expect(res.data).toEqual({ ok: true }); // transformResponse ran once, on the outer config
  expect(attemptOf(res)).toMatchObject({ attempt: 3 });
  expect(guard.stats()).toMatchObject({ requests: 1, attempts: 3, retries: 2, recovered: 1 });
});
