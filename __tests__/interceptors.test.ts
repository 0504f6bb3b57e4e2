/**
 * Living with the user's instance, proven with nock: its interceptors run once per
 * logical request, in any order; attempt metadata and the attempt/request-id headers;
 * axios defaults and configs re-sent by hand; createClient.
 */
import axios, { type AxiosInstance } from 'axios';
import nock from 'nock';
import { attach, attemptOf, createClient, type Guard, type GuardOptions } from '../src';
import { failure } from './support/failure';
import { testingOptions } from '../src/testing';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';

let instance: AxiosInstance;
let guard: Guard;

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard } = rig(ORIGIN, options, config));
}

useNock(() => guard);

describe('attempt and request-id headers', () => {
  it('are off by default and, when on, carry attempt/max and a stable id', async () => {
    setup({ attemptHeader: true, requestIdHeader: 'x-correlation-id' });
    const seen: { attempt: unknown; id: unknown }[] = [];
    const scope = nock(ORIGIN).get('/t').replyWithError(reset()).get('/t').reply(200, 'ok');
    scope.on('request', (req: { headers: Record<string, unknown> }) => {
      seen.push({ attempt: req.headers['x-request-attempt'], id: req.headers['x-correlation-id'] });
    });
    const res = await instance.get('/t');
    expect(seen.map((s) => s.attempt)).toEqual(['1/4', '2/4']);
    expect(seen[0]!.id).toBe(attemptOf(res)!.requestId);
    expect(seen[1]!.id).toBe(seen[0]!.id);
    // the response describes the attempt that produced it
    expect(res.config.headers['x-request-attempt']).toBe('2/4');
    nock(ORIGIN).get('/gone').times(4).replyWithError(reset());
    const error = await failure(instance.get('/gone'));
    expect(error.config!.headers['x-request-attempt']).toBe('4/4');

    guard.detach();
    setup();
    nock(ORIGIN)
      .get('/t')
      .reply(function () {
        return [200, JSON.stringify(Object.keys(this.req.headers))];
      });
    const plain = await instance.get<string[]>('/t');
    expect(plain.data).not.toContain('x-request-attempt');
    expect(plain.data).not.toContain('x-request-id');
  });
});

describe('living with the user instance', () => {
  it("runs the user's interceptors once per logical request, in any registration order", async () => {
    instance = axios.create({ baseURL: ORIGIN });
    const counts = { req: 0, res: 0, err: 0 };
    instance.interceptors.request.use((c) => ((counts.req += 1), c));
    guard = attach(instance, testingOptions());
    // added after attach, and it unwraps the body: must not run twice
    instance.interceptors.response.use(
      (r) => ((counts.res += 1), r.data as unknown) as never,
      (e: unknown) => {
        counts.err += 1;
        throw e;
      },
    );
    nock(ORIGIN).get('/u').times(2).replyWithError(reset()).get('/u').reply(200, { value: 42 });
    const data: unknown = await instance.get('/u');
    expect(data).toEqual({ value: 42 });
    expect(counts).toEqual({ req: 1, res: 1, err: 0 });
  });

  it('sees resetGuard set by an interceptor added before the guard', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    api.interceptors.request.use((config) => {
      config.resetGuard = { retry: false };
      return config;
    });
    guard = attach(api, testingOptions());
    nock(ORIGIN).get('/once').replyWithError(reset());
    const error = await failure(api.get('/once'));
    expect(attemptOf(error)).toMatchObject({ attempt: 1, maxAttempts: 1 });
  });

  it('retries do not pick up axios global defaults the first attempt did not send', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    axios.defaults.auth = { username: 'global', password: 'secret' };
    axios.defaults.headers.get['x-global'] = 'leak';
    try {
      guard = attach(api, testingOptions());
      const seen: Record<string, unknown>[] = [];
      const record = function (this: { req: { headers: Record<string, unknown> } }): [number] {
        seen.push({ auth: this.req.headers.authorization, global: this.req.headers['x-global'] });
        return [200];
      };
      nock(ORIGIN).get('/h').replyWithError(reset()).get('/h').reply(record);
      await api.get('/h');
      expect(seen).toEqual([{ auth: undefined, global: undefined }]);
    } finally {
      delete axios.defaults.auth;
      delete axios.defaults.headers.get['x-global'];
    }
  });

  it('createClient returns an instance with its guard, honouring the axios config', async () => {
    const client = createClient(testingOptions({ retries: 1 }), { baseURL: ORIGIN });
    guard = client.guard;
    nock(ORIGIN).get('/c').replyWithError(reset()).get('/c').reply(200, 'fine');
    const res = await client.get('/c');
    expect(res.data).toBe('fine');
    expect(client.guard.stats().recovered).toBe(1);
  });

  it('a final error.config re-sent by hand is a new logical request through the same guard', async () => {
    setup({ retries: 0 });
    nock(ORIGIN).get('/again').replyWithError(reset()).get('/again').reply(200, 'second time lucky');
    const error = await failure(instance.get('/again'));
    const first = attemptOf(error)!;
    const res = await instance.request(error.config!);
    expect(res.data).toBe('second time lucky');
    expect(attemptOf(res)).toMatchObject({ attempt: 1 });
    expect(attemptOf(res)!.requestId).not.toBe(first.requestId);
    expect(guard.stats()).toMatchObject({ requests: 2, attempts: 2 });
  });
});
