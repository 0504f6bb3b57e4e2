/**
 * HTTP/2 failure kinds and their rules, from the shapes Node leaves on a ClientHttp2Stream
 * (issue #12): what `classify` makes of each and what `decideRetry` does with it. The same
 * on every Node line; real servers make these failures in http2.test.ts.
 */
import axios, { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { DEFAULTS, attach, classify, type Classification, type GuardOptions } from '../src';
import { decideRetry, type RetryContext } from '../src/internals';
import { noteGoaway, noteSession, sessionGoingAway, h2StreamOf } from '../src/h2-facts';
import { EventEmitter } from 'node:events';
import { H2Watch } from '../src/h2';
import { Http2Ledger } from '../src/h2-ledger';
import { MAX_ORIGINS } from '../src/keep-alive';

/** A stand-in with the shape of a ClientHttp2Stream after it closed. */
function stream(
  over: { rstCode?: number | undefined; pending?: boolean; statusCode?: number; session?: object } = {},
): object {
  return {
    rstCode: over.rstCode,
    pending: over.pending ?? false,
    sentHeaders: { ':method': 'GET' },
    session: over.session,
    destroyed: true,
    ...(over.statusCode === undefined ? {} : { statusCode: over.statusCode }),
    close: () => undefined,
  };
}

const config = { headers: {} } as InternalAxiosRequestConfig;

function failure(code: string, request: object, cause?: { code: string }): AxiosError {
  const error = new AxiosError(`failed with ${code}`, code, config, request);
  if (cause !== undefined) error.cause = Object.assign(new Error(cause.code), cause);
  return error;
}

describe('classify: HTTP/2 streams', () => {
  it.each([
    ['REFUSED_STREAM before headers', failure('ERR_HTTP2_STREAM_ERROR', stream({ rstCode: 7 })), 'refused-stream'],
    [
      'a stream still pending (never sent) when its session died',
      failure('ERR_HTTP2_STREAM_CANCEL', stream({ rstCode: 8, pending: true })),
      'refused-stream',
    ],
    ['GOAWAY with an error code', failure('ERR_HTTP2_SESSION_ERROR', stream({ rstCode: 2 })), 'session-lost'],
    ['a TCP reset under an open stream', failure('ECONNRESET', stream({ rstCode: 2 })), 'session-lost'],
    [
      'a stream closed with no response',
      failure('ERR_RESET_GUARD_STREAM_CLOSED', stream({ rstCode: 8 })),
      'session-lost',
    ],
    ['RST_STREAM(INTERNAL_ERROR) before headers', failure('ERR_HTTP2_STREAM_ERROR', stream({ rstCode: 2 })), 'reset'],
    [
      'RST_STREAM after response headers',
      failure('ERR_HTTP2_STREAM_ERROR', stream({ rstCode: 2, statusCode: 200 })),
      'reset-mid-response',
    ],
    [
      'the session reset after response headers',
      failure('ECONNRESET', stream({ rstCode: 2, statusCode: 200 })),
      'reset-mid-response',
    ],
    [
      'a refused connection (the general rule)',
      failure('ERR_HTTP2_STREAM_CANCEL', stream({ pending: true }), { code: 'ECONNREFUSED' }),
      'refused',
    ],
  ])('%s: %s', (_, error, kind) => {
    const c = classify(error);
    expect(c.kind).toBe(kind);
    expect(c.retryable).toBe(true);
    expect(c.reusedSocket).toBe(false);
  });

  it('an HTTP/1 request is not mistaken for a stream, nor a plain object', () => {
    expect(h2StreamOf({ rstCode: 7 })).toBeUndefined();
    expect(h2StreamOf(null)).toBeUndefined();
    expect(classify(failure('ERR_HTTP2_STREAM_ERROR', { rstCode: 7 })).kind).toBe('other');
  });

  it('a session destroyed by GOAWAY(REFUSED_STREAM) is lost, not refused: Node copies the GOAWAY code into rstCode', () => {
    expect(classify(failure('ERR_HTTP2_SESSION_ERROR', stream({ rstCode: 7 }))).kind).toBe('session-lost');
  });

  it('a REFUSED_STREAM after response headers is a reset mid-response, not a refusal', () => {
    expect(classify(failure('ERR_HTTP2_STREAM_ERROR', stream({ rstCode: 7, statusCode: 200 }))).kind).toBe(
      'reset-mid-response',
    );
  });
});

describe('a buffered HTTP/2 body cut short', () => {
  // What the attempt's watch makes of a settled answer (Node 20: no stream was bound).
  const truncatedH2Body = (response: AxiosResponse): AxiosError | undefined =>
    new H2Watch(
      'http://h:80',
      new Http2Ledger(),
      () => undefined,
      config,
      () => false,
    ).settle(response, undefined);
  const response = (rstCode: number | undefined, responseType?: 'stream'): AxiosResponse =>
    ({
      data: 'partial',
      status: 200,
      statusText: '',
      headers: {},
      config: { ...config, responseType },
      request: stream({ rstCode, statusCode: 200 }),
    }) as unknown as AxiosResponse;

  it("rejects with axios's words for a cut body, classified reset-mid-response", () => {
    const error = truncatedH2Body(response(8))!;
    expect(error.code).toBe('ERR_BAD_RESPONSE');
    expect(error.message).toBe('stream has been aborted: the HTTP/2 stream closed with code 8 before its body ended');
    expect(error.response?.data).toBe('partial');
    expect(classify(error).kind).toBe('reset-mid-response');
  });

  it('a stream that ended with no error, or not yet closed, or a streamed response: left as it is', () => {
    expect(truncatedH2Body(response(0))).toBeUndefined();
    expect(truncatedH2Body(response(undefined))).toBeUndefined();
    expect(truncatedH2Body(response(8, 'stream'))).toBeUndefined();
  });
});

describe('a GOAWAY with an error code: its last stream id tells processed from not', () => {
  it('a stream above it was not processed (refused-stream), one at or below it may have been (session-lost)', () => {
    const session = { closed: true, destroyed: true };
    noteGoaway(session, 2147483647); // a first GOAWAY naming the highest id, as servers draining do
    noteGoaway(session, 5); // then the real last stream id: the lowest counts
    const above = Object.assign(stream({ rstCode: 2 }), { id: 7 });
    const at = Object.assign(stream({ rstCode: 2 }), { id: 5 });
    noteSession(above, session);
    noteSession(at, session);
    expect(classify(failure('ERR_HTTP2_SESSION_ERROR', above)).kind).toBe('refused-stream');
    expect(classify(failure('ERR_HTTP2_SESSION_ERROR', at)).kind).toBe('session-lost');
    // a session the guard never saw (Node 20): nothing known, possibly processed
    expect(classify(failure('ERR_HTTP2_SESSION_ERROR', Object.assign(stream({ rstCode: 2 }), { id: 7 }))).kind).toBe(
      'session-lost',
    );
  });
});

describe('sessionGoingAway', () => {
  it('a session that received GOAWAY, or closed, or destroyed; remembered after Node detached the stream', () => {
    const live = { closed: false, destroyed: false };
    const s = stream({ session: live });
    expect(sessionGoingAway(h2StreamOf(s)!)).toBe(false);
    const detached = stream();
    noteSession(detached, live);
    expect(sessionGoingAway(h2StreamOf(detached)!)).toBe(false);
    noteGoaway(live, 5);
    expect(sessionGoingAway(h2StreamOf(detached)!)).toBe(true);
    expect(sessionGoingAway(h2StreamOf(stream({ session: { closed: true } }))!)).toBe(true);
    expect(sessionGoingAway(h2StreamOf(stream())!)).toBe(false); // unknown: not assumed
  });
});

describe('decideRetry: HTTP/2 kinds', () => {
  const cls = (kind: Classification['kind']): Classification => ({
    kind,
    retryable: true,
    reusedSocket: false,
    responseStarted: kind === 'reset-mid-response',
    idleMs: undefined,
    code: undefined,
  });
  const ctx = (over: Partial<RetryContext>): RetryContext => ({
    classification: cls('refused-stream'),
    method: 'post',
    hasIdempotencyKey: false,
    bodyReplayable: true,
    attempt: 1,
    staleReplays: 0,
    options: { ...DEFAULTS, random: () => 0.5 },
    ...over,
  });

  it('a refused stream: any method, at once when its session was going away, after backoff when not', () => {
    expect(decideRetry(ctx({ sessionGoingAway: true }))).toMatchObject({
      retry: true,
      immediate: true,
      delayMs: 0,
      reason: 'POST was not processed: the server refused its HTTP/2 stream',
    });
    const live = decideRetry(ctx({ sessionGoingAway: false }));
    expect(live).toMatchObject({ retry: true, immediate: false });
    expect(live.delayMs).toBeGreaterThan(0);
    expect(decideRetry(ctx({ method: 'get', sessionGoingAway: true })).reason).toBe('GET is idempotent');
  });

  it('a refused stream is bounded by retries, and needs a body that can be sent again', () => {
    expect(decideRetry(ctx({ attempt: 4, sessionGoingAway: true }))).toMatchObject({ retry: false, limit: 'attempts' });
    expect(decideRetry(ctx({ bodyReplayable: false }))).toMatchObject({ retry: false });
  });

  it('a refused stream after a redirect was answered: the original POST may have been applied', () => {
    expect(decideRetry(ctx({ answeredBefore: 'a 302 arrived' }))).toMatchObject({ retry: false });
  });

  it('a lost session: idempotent or keyed only, with backoff', () => {
    expect(decideRetry(ctx({ classification: cls('session-lost') }))).toMatchObject({
      retry: false,
      reason: 'POST is not idempotent and a session-lost failure may have reached the server',
    });
    expect(decideRetry(ctx({ classification: cls('session-lost'), hasIdempotencyKey: true }))).toMatchObject({
      retry: true,
      immediate: false,
    });
    const get = decideRetry(ctx({ classification: cls('session-lost'), method: 'get' }));
    expect(get).toMatchObject({ retry: true, immediate: false });
    expect(get.delayMs).toBeGreaterThan(0);
  });
});

describe("axios's HTTP/2 sessions: sessionTimeout", () => {
  const sent: InternalAxiosRequestConfig[] = [];
  const recording = (c: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    sent.push(c);
    return Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config: c });
  };
  const guards: { detach(): void }[] = [];
  afterEach(() => {
    for (const g of guards.splice(0)) g.detach();
    sent.length = 0;
  });
  const send = async (options: GuardOptions, config: Partial<InternalAxiosRequestConfig> = {}): Promise<unknown> => {
    const api = axios.create({ adapter: recording, baseURL: 'http://127.0.0.1:9', httpVersion: 2 });
    guards.push(attach(api, options));
    await api.get('/', config);
    return sent.at(-1)?.http2Options?.sessionTimeout;
  };

  it("kept under the origin's free-socket timeout, never above axios's 1000 ms", async () => {
    expect(await send({ freeSocketTimeout: 400 })).toBe(400);
    expect(await send({})).toBeUndefined(); // 4000 ms: axios's own 1000 stands
    expect(await send({ freeSocketTimeout: 400 }, { http2Options: { sessionTimeout: 5000 } })).toBe(5000);
    expect(await send({ freeSocketTimeout: 400, agents: false })).toBeUndefined();
  });

  it('an HTTP/1.1 request is left alone', async () => {
    const api = axios.create({ adapter: recording, baseURL: 'http://127.0.0.1:9' });
    guards.push(attach(api, { freeSocketTimeout: 400 }));
    await api.get('/');
    expect(sent.at(-1)?.http2Options).toBeUndefined();
  });
});

describe('the HTTP/2 ledger', () => {
  it('holds at most MAX_ORIGINS origins: the one heard of least recently goes', () => {
    const ledger = new Http2Ledger();
    const noted = (origin: string): void => ledger.noteStream(origin, h2StreamOf(stream())!);
    for (let i = 0; i < MAX_ORIGINS; i += 1) noted(`http://h${i}:80`);
    noted('http://h0:80'); // heard of again: now the most recent
    noted('http://new:80');
    expect(ledger.origins()).toHaveLength(MAX_ORIGINS);
    expect(ledger.statsOf('http://h1:80')).toBeUndefined();
    expect(ledger.statsOf('http://h0:80')).toMatchObject({ streams: 2 });
    expect(ledger.statsOf('http://new:80')).toEqual({
      streams: 1,
      sessions: 0,
      goaways: 0,
      refusedStreams: 0,
      sessionsLost: 0,
    });
  });

  it('counts a stream once, and a session once, with its GOAWAYs', () => {
    const ledger = new Http2Ledger();
    const session = new EventEmitter();
    const a = h2StreamOf(stream({ session }))!;
    ledger.noteStream('http://h:80', a);
    ledger.noteStream('http://h:80', a);
    ledger.noteStream('http://h:80', h2StreamOf(stream({ session }))!);
    session.emit('goaway');
    session.emit('goaway'); // once per session: a session goes away once
    ledger.noteFailure('http://h:80', 'refused-stream');
    ledger.noteFailure('http://h:80', 'session-lost');
    expect(ledger.statsOf('http://h:80')).toEqual({
      streams: 2,
      sessions: 1,
      goaways: 1,
      refusedStreams: 1,
      sessionsLost: 1,
    });
    expect(sessionGoingAway(a)).toBe(true);
  });
});
