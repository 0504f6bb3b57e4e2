/**
 * No secret (Authorization, Cookie, proxy credentials, URL user info, configured
 * headers) leaves through hook payloads, diagnostics-channel messages or the final
 * error's JSON; the raw objects stay available to code. With nock, then on real sockets.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import type axios from 'axios';
import { AxiosError, type AxiosInstance } from 'axios';
import nock from 'nock';
import { CHANNELS, type Guard, type GuardOptions, type RetryInfo } from '../src';
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

  describe('secrets and events', () => {
    const secretHeaders = {
      Authorization: 'Bearer s3cr3t-token',
      'Proxy-Authorization': 'Basic s3cr3t-proxy',
      Cookie: 'session=s3cr3t-cookie',
      'X-Api-Key': 's3cr3t-key',
    };

    it('hook payloads, channel messages and the final error JSON carry no secret', async () => {
      const published: unknown[] = [];
      const listener = (message: unknown): void => void published.push(message);
      for (const name of Object.values(CHANNELS)) subscribe(name, listener);
      const hooks: unknown[] = [];
      try {
        setup(
          {
            redactHeaders: ['x-api-key'],
            beforeRetry: (info) => void hooks.push(info),
            onGiveUp: (info) => void hooks.push(info),
          },
          { headers: secretHeaders, auth: { username: 'me', password: 's3cr3t-basic' } },
        );
        nock(ORIGIN).get('/s').query({ page: 1 }).times(4).replyWithError(reset());
        const error = await failure(instance.get('/s?page=1'));
        const text = [
          JSON.stringify(error),
          JSON.stringify(hooks),
          JSON.stringify(published),
          hooks.map((h) => inspect(h, { depth: 8 })).join(''),
        ].join('\n');
        expect(text).not.toMatch(/s3cr3t/);
        expect(published).toHaveLength(3 + 4 + 1); // 3 retries, 4 resets, 1 give-up
        // the raw objects are still there for code that needs them
        const retry = hooks[0] as RetryInfo;
        expect(retry.error).toBeInstanceOf(AxiosError);
        expect(retry.config.headers.Cookie).toBe('session=s3cr3t-cookie');
        expect(retry).toMatchObject({ method: 'GET', url: 'http://api.test/s?page=1', reason: 'GET is idempotent' });
        const json = JSON.parse(JSON.stringify(error)) as Record<string, Record<string, Record<string, unknown>>>;
        expect(json.config!.headers!.Cookie).toBe('[redacted]');
        // the user part too: for many APIs it is the key itself
        expect(json.config!.auth).toEqual({ username: '[redacted]', password: '[redacted]' });
        expect(json.resetGuard!.reason).toBe('retry limit reached after 4 attempts');
      } finally {
        for (const name of Object.values(CHANNELS)) unsubscribe(name, listener);
      }
    });
  });

  it('an attempt error rethrown by beforeRetry still gets the user config and a redacted toJSON', async () => {
    setup({ beforeRetry: (info) => Promise.reject(info.error) }, { headers: { Authorization: 'Bearer s3cr3t' } });
    nock(ORIGIN).get('/r').replyWithError(reset());
    const error = await failure(instance.get('/r', { headers: { 'x-mine': 'yes' } }));
    expect(error.config!.headers['x-mine']).toBe('yes');
    expect(error.config!.transformResponse).toEqual(instance.defaults.transformResponse);
    expect(JSON.stringify(error)).not.toMatch(/s3cr3t/);
    expect(guard.stats().gaveUp).toBe(0);
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  it('channel messages and the final error JSON carry no secret', async () => {
    const published: unknown[] = [];
    const listener = (message: unknown): void => void published.push(message);
    for (const name of Object.values(CHANNELS)) subscribe(name, listener);
    try {
      const server = await serve(startHttpServer({ resetWhen: () => true }));
      const { api } = guarded(
        server.url.replace('http://', 'http://me:s3cr3t-pass@'),
        { retries: 1, redactHeaders: ['x-api-key'] },
        { headers: { Authorization: 'Bearer s3cr3t-token', Cookie: 'id=s3cr3t-cookie', 'X-Api-Key': 's3cr3t-key' } },
      );
      const error = await failure(api.get('/secret'));
      expect(server.headers[0]!.cookie).toBe('id=s3cr3t-cookie'); // sent, just never echoed
      expect(published).toHaveLength(2 + 1 + 1); // 2 resets, 1 retry, 1 give-up
      expect(JSON.stringify(published) + JSON.stringify(error)).not.toMatch(/s3cr3t/);
    } finally {
      for (const name of Object.values(CHANNELS)) unsubscribe(name, listener);
    }
  });

  it('a URL with leading whitespace (still sent with basic auth) and an auth username that is a key: none leaks', async () => {
    const published: unknown[] = [];
    const listener = (message: unknown): void => void published.push(message);
    for (const name of Object.values(CHANNELS)) subscribe(name, listener);
    try {
      const server = await serve(startHttpServer({ resetWhen: () => true }));
      const hooks: unknown[] = [];
      const { api } = guarded('', {
        retries: 1,
        beforeRetry: (info) => void hooks.push(info),
        onGiveUp: (info) => void hooks.push(info),
      });
      const url = ` ${server.url.replace('http://', 'http://svc:s3cr3t-ws@')}/ws`;
      const error = await failure(api.get(url));
      // axios parsed it as the WHATWG parser does and sent the credentials
      const sent = server.headers[0]!.authorization!;
      expect(Buffer.from(sent.replace('Basic ', ''), 'base64').toString()).toBe('svc:s3cr3t-ws');
      const keyed = await failure(
        api.get('/k', { baseURL: server.url, auth: { username: 'sk_live_s3cr3t', password: '' } }),
      );
      expect(hooks).toHaveLength(4);
      const seen = JSON.stringify(published) + JSON.stringify(hooks) + JSON.stringify(error) + JSON.stringify(keyed);
      expect(seen).not.toMatch(/s3cr3t/);
      expect(JSON.stringify(error)).toContain('http://[redacted]@127.0.0.1');
    } finally {
      for (const name of Object.values(CHANNELS)) unsubscribe(name, listener);
    }
  });
});
