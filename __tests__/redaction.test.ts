/**
 * No secret (Authorization, Cookie, proxy credentials, URL user info, configured
 * headers, TLS keys in `http2Options`, signed-URL and OAuth query values) leaves through
 * hook payloads, diagnostics-channel messages, debug lines, stats or the final error's
 * JSON; the raw objects stay available to code. With nock, then on real sockets.
 */
import https from 'node:https';
import { createPrivateKey } from 'node:crypto';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import type axios from 'axios';
import { AxiosError, type AxiosInstance } from 'axios';
import nock from 'nock';
import { CHANNELS, type Guard, type GuardOptions, type RetryInfo } from '../src';
import { startHttpServer, startTlsServer, testCertificate } from '../testbed';
import { startH2Server } from '../testbed/h2';
import { itUnless, lacking } from './support/axios-supports';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import { runWithDebug } from './support/user-project';

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

/** Everything the guard emits while `run` runs: channel messages (attempt traces too) and hook payloads. */
async function emitted(
  run: (hooks: GuardOptions) => Promise<unknown>,
): Promise<{ text: string; published: unknown[] }> {
  const published: unknown[] = [];
  const hooks: unknown[] = [];
  const listener = (message: unknown): void => void published.push(message);
  const traced = { start: listener, end: listener, asyncStart: listener, asyncEnd: listener, error: listener };
  const names = Object.values(CHANNELS).filter((name) => name !== CHANNELS.attempt);
  for (const name of names) subscribe(name, listener);
  tracingChannel(CHANNELS.attempt).subscribe(traced);
  try {
    const out = await run({ beforeRetry: (info) => void hooks.push(info), onGiveUp: (info) => void hooks.push(info) });
    const text = [
      JSON.stringify(out),
      JSON.stringify(published),
      JSON.stringify(hooks),
      [...published, ...hooks].map((p) => inspect(p, { depth: 8 })).join('\n'),
    ].join('\n');
    return { text, published };
  } finally {
    for (const name of names) unsubscribe(name, listener);
    tracingChannel(CHANNELS.attempt).unsubscribe(traced);
  }
}

/** The error's every serialized form the guard shapes. */
function errorText(error: AxiosError): string {
  return [JSON.stringify(error), JSON.stringify(error.toJSON())].join('\n');
}

/** The testbed's key, encrypted as a client's mTLS key often is. */
function clientTls(passphrase: string): { key: string; cert: string; passphrase: string } {
  const { key, cert } = testCertificate();
  const encrypted = createPrivateKey(key).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase });
  return { key: encrypted as string, cert, passphrase };
}

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  itUnless(lacking('http2'))(
    'over HTTP/2 with TLS, the client key and passphrase in http2Options stay out of every output',
    async () => {
      const server = await serve(startH2Server({ tls: true, status: 503 }));
      const tls = clientTls('s3cr3t-passphrase');
      const { api, guard } = guarded(server.url, { retries: 1 });
      const { text } = await emitted(async (hooks) => {
        const error = await failure(
          api.get('/h2', {
            httpVersion: 2,
            http2Options: { ca: server.ca, ...tls },
            resetGuard: hooks,
          }),
        );
        expect(error.response?.status).toBe(503);
        expect(server.seen.get('GET /h2')).toBe(2); // the key was used: both attempts reached the server
        return [errorText(error), JSON.stringify(guard.stats())].join('\n');
      });
      expect(text).not.toMatch(/s3cr3t/);
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
      expect(text).toContain('[redacted]');
    },
  );

  it('over HTTPS, the client key and passphrase in a user httpsAgent stay out of every output', async () => {
    const server = await serve(startTlsServer(0, () => true)); // every request reset
    const agent = new https.Agent({ ca: server.ca, ...clientTls('s3cr3t-agent-pass') });
    const { api, guard } = guarded(server.url, { retries: 1 }, { httpsAgent: agent });
    try {
      const { text } = await emitted(async (hooks) => {
        const error = await failure(api.get('/tls', { resetGuard: hooks }));
        expect(error.code).toBe('ECONNRESET');
        expect(server.hits).toBe(2);
        return [errorText(error), JSON.stringify(guard.stats())].join('\n');
      });
      expect(text).not.toMatch(/s3cr3t|PRIVATE KEY|BEGIN CERTIFICATE/);
    } finally {
      agent.destroy();
    }
  });

  it('signed-URL and OAuth query values stay out of every output, extensible by name; the server gets them', async () => {
    const urls: string[] = [];
    const server = await serve(
      startHttpServer({ handler: (req, res) => void (urls.push(req.url ?? ''), res.writeHead(503).end()) }),
    );
    const { api } = guarded(server.url, { retries: 1, redactQuery: ['Session'] });
    const query =
      'sig=S3CRET-a&X-Amz-Signature=S3CRET-b&x-amz-credential=S3CRET-c&ACCESS_TOKEN=S3CRET-d&api_key=S3CRET-e' +
      '&code=S3CRET-f&session=S3CRET-g&page=2&next=' +
      encodeURIComponent('https://idp.test/cb?Signature=S3CRET-h&state=kept');
    const { text, published } = await emitted(async (hooks) => {
      const error = await failure(
        api.get(`/signed?${query}`, {
          params: { token: 'S3CRET-i', 'X-Goog-Signature': 'S3CRET-j', q: 'kept' },
          resetGuard: hooks,
        }),
      );
      return errorText(error);
    });
    expect(server.hits).toBe(2);
    expect(urls[0]).toContain('sig=S3CRET-a');
    expect(urls[0]).toContain('token=S3CRET-i');
    expect(text).not.toMatch(/S3CRET/);
    // what is not secret stays readable
    expect(text).toContain('page=2');
    expect(text).toContain('state%3Dkept');
    expect(text).toContain('sig=[redacted]');
    expect(published.length).toBeGreaterThan(0);
  });

  it('secret names as servers read them: tabs and newlines the URL parser drops, qs arrays (`sig[]`, `a[b][]`)', async () => {
    const urls: string[] = [];
    const server = await serve(
      startHttpServer({ handler: (req, res) => void (urls.push(req.url ?? ''), res.writeHead(503).end()) }),
    );
    const { api } = guarded(server.url, { retries: 1 });
    const paths = [
      '/t?s\tig=S3CRET-a&page=2',
      '/n?sig=x\nS3CRET-b&page=2',
      '/q?sig[]=S3CRET-c&user[password][]=S3CRET-d',
    ];
    const { text } = await emitted(async (hooks) => {
      const errors = [];
      for (const path of paths) errors.push(errorText(await failure(api.get(path, { resetGuard: hooks }))));
      return errors.join('\n');
    });
    expect(server.hits).toBe(2 * paths.length);
    // what the server read: the names the guard treats as secret
    expect(urls[0]).toBe('/t?sig=S3CRET-a&page=2');
    expect(urls[2]).toBe('/n?sig=xS3CRET-b&page=2');
    expect(decodeURIComponent(urls[4]!)).toBe('/q?sig[]=S3CRET-c&user[password][]=S3CRET-d');
    expect(text).not.toMatch(/S3CRET/);
    expect(text).toContain('page=2');
  });

  it('URLs embedded in a query lose their userinfo in every form a parser or an app decoding once or twice accepts', async () => {
    const server = await serve(startHttpServer({ handler: (_req, res) => void res.writeHead(503).end() }));
    const { api } = guarded(server.url, { retries: 1 });
    const forms = [
      'http:/admin:S3CRET1@h.test/', // a single slash
      'http%3A%2Fadmin%3AS3CRET2%40h.test', // one encoded slash
      'http://admin:p S3CRET3@h.test/', // a space in the password
      encodeURIComponent(encodeURIComponent('https://admin:S3CRET4@h.test/')), // encoded twice
      'https://user@S3CRET5@h.test/', // the userinfo ends at the last @
      'https:\\\\admin:S3CRET6@h.test', // backslashes
    ];
    const { text } = await emitted(async (hooks) => {
      const errors = [];
      for (const [i, form] of forms.entries())
        errors.push(errorText(await failure(api.get(`/e${i}?next=${form}&page=2`, { resetGuard: hooks }))));
      return errors.join('\n');
    });
    expect(server.hits).toBe(2 * forms.length);
    expect(text).not.toMatch(/S3CRET/);
    expect(text).toContain('page=2');
  });

  itUnless(lacking('http2'))(
    'NODE_DEBUG=axios-reset-guard lines carry no query secret, embedded userinfo or TLS key',
    async () => {
      const run = await runWithDebug('redaction-child.ts', 'axios-reset-guard');
      expect(run.code).toBe(0);
      const { lines } = run;
      expect(lines).toHaveLength(4); // two decisions per request
      expect(lines[0]).toMatch(/sig=\[redacted\].*access_token=\[redacted\].*page=2/);
      expect(lines[2]).toContain('/h2?token=[redacted]');
      expect(run.stderr + run.stdout).not.toMatch(/s3cr3t/);
    },
    WATCHED_TIMEOUT_MS,
  );

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

  it.each([
    ['an auth object', { auth: { username: 'prx', password: 's3cr3t-proxy' } }],
    ['username and password fields, as axios reads a proxy URL', { username: 'prx', password: 's3cr3t-proxy' }],
  ])('proxy credentials given as %s stay out of every output; the proxy gets them', async (_form, credentials) => {
    const proxy = await serve(startHttpServer({ resetWhen: () => true }));
    const { port } = new URL(proxy.url);
    const { api, guard } = guarded('http://origin.test', { retries: 1 });
    const { text } = await emitted(async (hooks) => {
      const error = await failure(
        api.get('/via-proxy', {
          proxy: { host: '127.0.0.1', port: Number(port), ...credentials },
          resetGuard: hooks,
        }),
      );
      expect(error.code).toBe('ECONNRESET');
      return [errorText(error), JSON.stringify(guard.stats())].join('\n');
    });
    expect(proxy.hits).toBe(2); // both attempts went through the proxy, with the credentials
    const sent = proxy.headers[0]!['proxy-authorization']!;
    expect(Buffer.from(sent.replace('Basic ', ''), 'base64').toString()).toBe('prx:s3cr3t-proxy');
    expect(text).not.toMatch(/s3cr3t/);
  });

  it('params inside arrays lose secret values and URL userinfo as at any other depth; the server gets them', async () => {
    const urls: string[] = [];
    const server = await serve(
      startHttpServer({ handler: (req, res) => void (urls.push(req.url ?? ''), res.writeHead(503).end()) }),
    );
    const { api } = guarded(server.url, { retries: 1 });
    const { text } = await emitted(async (hooks) => {
      const error = await failure(
        api.get('/arr', {
          params: { next: ['http://admin:S3CRET1@h.test/'], filter: [{ token: 'S3CRET2' }], page: [2] },
          resetGuard: hooks,
        }),
      );
      return errorText(error);
    });
    expect(server.hits).toBe(2);
    expect(decodeURIComponent(urls[0]!)).toContain('S3CRET1');
    expect(text).not.toMatch(/S3CRET/);
  });

  it('a hook that settles after the deadline is announced without the redactQuery values of its URL', async () => {
    const server = await serve(startHttpServer({ resetWhen: () => true }));
    let release = (): void => undefined;
    const pending = new Promise<void>((resolve) => (release = resolve));
    const { api } = guarded(server.url, {
      retries: 1,
      deadlineMs: 300,
      redactQuery: ['session'],
      onGiveUp: () => pending,
    });
    const late: unknown[] = [];
    const listener = (message: unknown): void => void late.push(message);
    subscribe(CHANNELS.lateHook, listener);
    try {
      const error = await failure(api.get('/late?session=S3CRET-late&page=2'));
      expect(error.code).toBe('ECONNRESET');
      expect(server.hits).toBe(2);
      release();
      for (let i = 0; i < 50 && late.length === 0; i += 1) await new Promise((r) => setImmediate(r));
      expect(late).toHaveLength(1);
      expect(late[0]).toMatchObject({ hook: 'onGiveUp', outcome: 'resolved' });
      expect(JSON.stringify(late)).toContain('session=[redacted]&page=2');
      expect(JSON.stringify(late) + JSON.stringify(error)).not.toMatch(/S3CRET/);
    } finally {
      unsubscribe(CHANNELS.lateHook, listener);
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
