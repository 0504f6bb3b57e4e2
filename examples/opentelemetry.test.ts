/**
 * opentelemetry.test.ts in your project: proves the tracing of opentelemetry.ts against a
 * real server on 127.0.0.1 that resets connections (TCP RST), with the OpenTelemetry SDK's
 * in-memory exporter instead of a collector. Needs, as dev dependencies,
 * @opentelemetry/sdk-trace-base, @opentelemetry/context-async-hooks (so that a span
 * started by the caller is the parent of the attempts) and @opentelemetry/semantic-conventions.
 */
import { channel } from 'node:diagnostics_channel';
import { context, SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { attach, CHANNELS, FAILURE_KINDS, type Guard, type RetryInfo } from 'axios-reset-guard';
import { testingOptions } from 'axios-reset-guard/testing';
import { GUARD_ATTRIBUTES as G, GUARD_EVENTS, SEMCONV, traceAttempts } from './opentelemetry';
import { startFlakyUpstream, type FlakyUpstream } from './support/flaky-upstream';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('orders-service');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => context.setGlobalContextManager(contextManager.enable()));
afterAll(async () => {
  context.disable();
  await provider.shutdown();
});

let upstream: FlakyUpstream | undefined;
let api: AxiosInstance;
let guard: Guard | undefined;
let untrace: (() => void) | undefined;
/** What the guard's beforeRetry hook saw: the waits the spans' events must report. */
let retries: RetryInfo[];

/** A guarded, traced instance against a local server that resets the requests `reset` picks. */
async function setUp(reset: (n: number) => boolean): Promise<string> {
  upstream = await startFlakyUpstream({
    reset: (_req, n) => reset(n),
    answer: (req) =>
      req.url === '/missing' ? { status: 404, json: { error: 'no such order' } } : { json: { id: 42 } },
  });
  api = axios.create({ baseURL: upstream.url, timeout: 5_000 });
  retries = [];
  // testingOptions: a fixed jitter, so the first wait is half the 200 ms base delay; slept for real
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  guard = attach(api, testingOptions({ beforeRetry: (info) => void retries.push(info) }, { sleep }));
  untrace = traceAttempts(api, tracer);
  return upstream.url;
}

afterEach(async () => {
  untrace?.();
  guard?.detach(); // destroys the guard's keep-alive agents
  await upstream?.close();
  untrace = guard = upstream = undefined;
  exporter.reset();
});

/** The CLIENT spans, in the order the attempts started. */
function attemptSpans(): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((s) => s.kind === SpanKind.CLIENT)
    .sort((a, b) => ms(a.startTime) - ms(b.startTime));
}
const ms = ([s, ns]: HrTime): number => s * 1e3 + ns / 1e6;
const events = (span: ReadableSpan | undefined): unknown[] => (span?.events ?? []).map((e) => [e.name, e.attributes]);

it('spells the conventions’ attributes as @opentelemetry/semantic-conventions does', () => {
  expect(SEMCONV).toEqual({
    method: ATTR_HTTP_REQUEST_METHOD,
    methodOriginal: ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
    resendCount: ATTR_HTTP_REQUEST_RESEND_COUNT,
    statusCode: ATTR_HTTP_RESPONSE_STATUS_CODE,
    serverAddress: ATTR_SERVER_ADDRESS,
    serverPort: ATTR_SERVER_PORT,
    urlFull: ATTR_URL_FULL,
    errorType: ATTR_ERROR_TYPE,
  });
  // and nothing of its own under an OpenTelemetry namespace
  for (const name of [...Object.values(G), ...Object.values(GUARD_EVENTS)]) {
    expect(name).toMatch(/^axios_reset_guard\./);
  }
});

it('a GET reset on its first attempt: two CLIENT spans under the caller’s span, resend_count 1 on the second, the kind and the wait on the first', async () => {
  const url = await setUp((n) => n === 1);
  const port = Number(new URL(url).port);

  const res = await tracer.startActiveSpan('checkout', async (parent): Promise<AxiosResponse> => {
    try {
      return await api.get('/orders/42');
    } finally {
      parent.end();
    }
  });
  expect(res.status).toBe(200);
  expect(res.data).toEqual({ id: 42 });

  const checkout = exporter.getFinishedSpans().find((s) => s.name === 'checkout')!;
  const [first, second, ...more] = attemptSpans();
  expect(more).toEqual([]);
  expect(first && second).toBeDefined();
  // siblings under the caller's span, no logical span in between (as the conventions ask)
  for (const span of [first!, second!]) {
    expect(span.name).toBe('GET');
    expect(span.spanContext().traceId).toBe(checkout.spanContext().traceId);
    expect(span.parentSpanContext?.spanId).toBe(checkout.spanContext().spanId);
  }
  const uuid: unknown = expect.stringMatching(/^[0-9a-f-]{36}$/);
  const common = {
    'http.request.method': 'GET',
    'url.full': `${url}/orders/42`,
    'server.address': '127.0.0.1',
    'server.port': port,
    [G.requestId]: uuid,
  };

  // attempt 1: resend count 0, so no http.request.resend_count (the conventions set it on resends only)
  expect(first!.attributes).toEqual({ ...common, 'error.type': 'reset' });
  expect(first!.status.code).toBe(SpanStatusCode.ERROR);
  expect(first!.status.message).toMatch(/ECONNRESET|socket hang up/); // the error's message
  expect(retries).toHaveLength(1);
  const wait = retries[0]!.delayMs;
  expect(wait).toBe(100); // 0.5 x the 200 ms base: a fresh connection's reset waits
  expect(events(first)).toEqual([
    [GUARD_EVENTS.reset, { [G.kind]: 'reset', [G.code]: 'ECONNRESET', [G.reusedSocket]: false }],
    [GUARD_EVENTS.retry, { [G.kind]: 'reset', [G.delayMs]: wait, [G.reason]: 'GET is idempotent' }],
  ]);

  // attempt 2: the first resend, answered; the same logical request
  expect(second!.attributes).toEqual({
    ...common,
    'http.request.resend_count': 1,
    'http.response.status_code': 200,
    [G.requestId]: first!.attributes[G.requestId],
  });
  expect(second!.status).toEqual({ code: SpanStatusCode.UNSET });
  expect(events(second)).toEqual([]);
  // the planned wait lies between the two spans (a lower bound: timers never fire early)
  expect(ms(second!.startTime) - ms(first!.endTime)).toBeGreaterThanOrEqual(wait - 1);
});

it('a GET the server always resets: one span per attempt, resend counts 0..2, the last one gives up', async () => {
  await setUp(() => true);
  await expect(api.get('/orders/7', { resetGuard: { retries: 2 } })).rejects.toMatchObject({ code: 'ECONNRESET' });

  const spans = attemptSpans();
  expect(spans.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2]);
  expect(spans.map((s) => s.attributes['error.type'])).toEqual(['reset', 'reset', 'reset']);
  expect(spans.map((s) => s.events.map((e) => e.name))).toEqual([
    [GUARD_EVENTS.reset, GUARD_EVENTS.retry],
    [GUARD_EVENTS.reset, GUARD_EVENTS.retry],
    [GUARD_EVENTS.reset, GUARD_EVENTS.giveUp],
  ]);
  // each retry event carries the wait the guard planned: full jitter under a doubling ceiling
  expect(spans.slice(0, 2).map((s) => s.events[1]?.attributes?.[G.delayMs])).toEqual(retries.map((r) => r.delayMs));
  expect(retries.map((r) => r.delayMs)).toEqual([100, 200]);
  expect(spans[2]!.events[1]?.attributes).toEqual({
    [G.kind]: 'reset',
    [G.reason]: 'retry limit reached after 3 attempts',
  });
});

it('a POST reset on a fresh connection: one span, not resent, with the reason in its give-up event', async () => {
  await setUp(() => true);
  await expect(api.post('/orders', { item: 'book' })).rejects.toMatchObject({ code: 'ECONNRESET' });

  const [span, ...more] = attemptSpans();
  expect(more).toEqual([]);
  expect(span!.name).toBe('POST');
  expect(span!.attributes).not.toHaveProperty('http.request.resend_count');
  expect(span!.attributes['error.type']).toBe('reset');
  expect(events(span)).toEqual([
    [GUARD_EVENTS.reset, { [G.kind]: 'reset', [G.code]: 'ECONNRESET', [G.reusedSocket]: false }],
    [
      GUARD_EVENTS.giveUp,
      { [G.kind]: 'reset', [G.reason]: 'POST is not idempotent and a reset failure may have reached the server' },
    ],
  ]);
});

it('a 404 (nothing published: not a transient failure): error.type is the status code, the span still ends', async () => {
  await setUp(() => false);
  await expect(api.get('/missing')).rejects.toMatchObject({ response: { status: 404 } });
  // accepted by validateStatus, a 404 is still an error for a client span
  await expect(api.get('/missing', { validateStatus: () => true })).resolves.toMatchObject({ status: 404 });

  const spans = attemptSpans();
  expect(spans).toHaveLength(2);
  for (const span of spans) {
    expect(span.attributes).toMatchObject({ 'http.response.status_code': 404, 'error.type': '404' });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR }); // no description: the code says it
    expect(span.events).toEqual([]);
  }
});

it('the untrace function restores the adapter and leaves no subscriber behind', async () => {
  await setUp(() => false);
  const traced = api.defaults.adapter;
  untrace!();
  expect(api.defaults.adapter).not.toBe(traced);
  for (const name of Object.values(CHANNELS)) expect(channel(name).hasSubscribers).toBe(false);
  await expect(api.get('/orders/1')).resolves.toMatchObject({ status: 200 });
  expect(attemptSpans()).toEqual([]);
});

it('error.type values are documented: the guard’s failure kinds', () => {
  // what docs/observability-otel.md lists, besides status codes and _OTHER
  expect([...FAILURE_KINDS]).toEqual([
    'stale-socket',
    'reset',
    'reset-mid-response',
    'tls-reset',
    'refused',
    'refused-stream',
    'session-lost',
    'timeout',
    'dns',
    'canceled',
    'http-status',
    'decode',
    'other',
  ]);
});
