/**
 * The fault matrix: every safety promise, cell by cell, on real sockets. Transport {http,
 * https} x fault point {before the application, after the request head, after the body was
 * applied, after the response head, mid-body} x method {GET, POST, POST with a key} x path
 * {direct, 303, 307, through a forward proxy} x event loop {idle, 80 % busy}. The server's
 * ledger says what was applied; the oracle below is the README's rules table, cell by cell.
 * Each request meets its fault on a pooled socket that counts as long idle (staleIdleMs 0),
 * the case where the guard resends the most. The regression net for classification and policy.
 *
 * HTTP/2 (axios `httpVersion: 2`, real `node:http2` servers): transport {h2c, TLS with ALPN
 * h2} x fault point {REFUSED_STREAM, a GOAWAY below the stream, a FIN or a TCP RST after the
 * application applied it with no header sent, RST_STREAM after the response head, a FIN
 * mid-body} x the same methods x path {direct} x the same loops, each on a pooled session,
 * with docs/http2.md as the oracle and a 500 ms deadline (on Node 20 the only end of a stream
 * orphaned by a FIN).
 */
import https from 'node:https';
import axios from 'axios';
import { attach, attemptOf, failureOf } from '../src';
import {
  FAULT_POINTS,
  H2_FAULT_POINTS,
  keepLoopBusy,
  startFaultServer,
  startH2FaultServer,
  startRelayProxy,
  testCertificate,
  type FaultPoint,
  type FaultServer,
  type H2FaultPoint,
} from '../testbed';
import { noWait } from './support/guarded';
import { describeUnless, itUnless, lacking, lackingSessionSafety } from './support/axios-supports';

type Transport = 'http' | 'https';
type Path = 'direct' | '303' | '307' | 'proxy';
type Method = 'GET' | 'POST' | 'POST+key';
const METHODS: readonly Method[] = ['GET', 'POST', 'POST+key'];
const DEADLINE_MS = 10_000;

interface Outcome {
  readonly recovered: boolean;
  readonly applied: number;
}

/**
 * What the README promises for one cell. A GET, and a POST with an Idempotency-Key (which
 * the server deduplicates), always recover. A POST without one is resent only after a
 * stale-socket failure on a socket the guard watched idle, with no response byte, no
 * earlier hop answered (a redirect), and over TLS a close rather than a bare reset: recovered when the fault struck before the
 * application applied it, applied twice when it struck just after (the one residual risk,
 * documented), never resent otherwise.
 */
function promised(transport: Transport, path: Path, point: FaultPoint, method: Method): Outcome {
  if (method === 'GET') return { recovered: true, applied: 0 };
  if (method === 'POST+key') return { recovered: true, applied: 1 };
  const reachedApp = point !== 'before-app' && point !== 'after-head';
  if (path === '303') return { recovered: false, applied: 1 }; // applied by the first hop
  if (path === '307') return { recovered: false, applied: reachedApp ? 1 : 0 };
  // Over TLS a bare reset (the faults here are RSTs) may hide half a record of an answer
  // that could not be decrypted: the stale rule then never resends a POST. (Through a proxy,
  // https also goes in a CONNECT tunnel on axios's own agent, whose sockets the guard never saw.)
  const staleRule = transport === 'http' && point !== 'after-response-head' && point !== 'mid-body';
  if (!staleRule) return { recovered: false, applied: reachedApp ? 1 : 0 };
  return { recovered: true, applied: point === 'after-apply' ? 2 : 1 };
}

const RESIDUAL = (o: Outcome): boolean => o.applied > 1;

type H2Transport = 'h2c' | 'h2-tls';
/** Node publishes the `http2.client.stream.*` diagnostics channels from 22 on. */
const ORPHANS_END_AT_ONCE = Number(process.versions.node.split('.')[0]) >= 22;
/** HTTP/2 cells run under this deadline: on Node 20 it is what ends an orphaned stream. */
const H2_DEADLINE_MS = 500;

/** The request ended because its deadline was reached (what the guard says, not a clock). */
const byDeadline = (result: { ok: boolean; error?: unknown }): boolean =>
  !result.ok && /^deadline of \d+ ms reached/.test(failureOf(result.error)?.reason ?? '');

/**
 * What docs/http2.md promises for one HTTP/2 cell (direct only: axios refuses a proxy under
 * HTTP/2, and follows no redirect there). A refused stream, or one above a GOAWAY's last
 * stream id, was never processed: resent for every method. Anything after the application
 * applied the request (a lost session, a stream reset after its headers, a body cut short)
 * may be resent only for a GET or a keyed POST. No POST is ever applied twice. A stream
 * orphaned by a FIN before its headers ends at once on Node >= 22; on Node 20 only the
 * deadline ends it, so there it fails for every method (`byDeadline`).
 */
/**
 * How the first attempt of each HTTP/2 cell failed (`classify(err).kind`, docs/http2.md): a
 * check that the fault struck where the cell says, not part of the README's promise.
 */
const H2_FIRST_KIND: Readonly<Record<H2FaultPoint, string>> = {
  refused: 'refused-stream',
  'goaway-below': 'refused-stream',
  'fin-after-apply': ORPHANS_END_AT_ONCE ? 'session-lost' : 'timeout',
  'rst-after-apply': 'session-lost',
  'rst-stream-after-head': 'reset-mid-response',
  'fin-mid-body': 'reset-mid-response',
};

function promisedH2(point: H2FaultPoint, method: Method): Outcome & { byDeadline: boolean } {
  const applied = method === 'GET' ? 0 : 1;
  if (point === 'refused' || point === 'goaway-below') return { recovered: true, applied, byDeadline: false };
  if (point === 'fin-after-apply' && !ORPHANS_END_AT_ONCE) return { recovered: false, applied, byDeadline: true };
  return { recovered: method !== 'POST', applied, byDeadline: false };
}

const certificate = testCertificate();
const originalCa = https.globalAgent.options.ca;
beforeAll(() => {
  // the guard's own agents take the global agent's TLS settings (what plain axios uses)
  https.globalAgent.options.ca = certificate.cert;
});
afterAll(() => {
  https.globalAgent.options.ca = originalCa;
});

const table: string[] = [];
const h2Table: string[] = [];
afterAll(() => {
  const header = (points: readonly string[]): string[] => [
    `${'transport path    loop'.padEnd(24)} ${points.map((p) => p.padEnd(27)).join(' ')}`,
    `${''.padEnd(24)} ${points.map(() => METHODS.map((m) => m.padEnd(9)).join('')).join(' ')}`,
  ];
  console.log(
    [
      'fault matrix: recovered (ok) or failed (--), then times the server applied the POST; ! = the documented residual risk',
      ...header(FAULT_POINTS),
      ...table,
      '',
      `HTTP/2 (direct only: axios refuses proxies under HTTP/2)${
        ORPHANS_END_AT_ONCE
          ? ''
          : `; on Node ${process.versions.node} fin-after-apply ends by the ${H2_DEADLINE_MS} ms deadline`
      }`,
      ...header(H2_FAULT_POINTS),
      ...h2Table,
    ].join('\n'),
  );
});

describe.each(['http', 'https'] as const)('%s', (transport) => {
  describe.each(['direct', '303', '307', 'proxy'] as const)('path %s', (path) => {
    // https through a proxy is a CONNECT tunnel, whose TLS must trust the agent's ca
    const needs = transport === 'https' && path === 'proxy' ? lacking('proxyTunnel', 'proxyTunnelCa') : undefined;
    itUnless(needs).each(['idle', 'busy'] as const)('event loop %s: every cell keeps its promise', async (loop) => {
      const server: FaultServer = await startFaultServer(transport === 'https' ? certificate : undefined);
      const proxy = path === 'proxy' ? await startRelayProxy(server.port) : undefined;
      const stop = loop === 'busy' ? keepLoopBusy(0.8) : () => undefined;
      const row: string[] = [];
      const broken: string[] = [];
      try {
        for (const point of FAULT_POINTS) {
          let cells = '';
          for (const method of METHODS) {
            const cell = `${transport}-${path}-${loop}-${point}-${method.replace('+', '-')}`;
            const api = axios.create({
              baseURL: server.url,
              ...(proxy ? { proxy: { protocol: 'http', host: '127.0.0.1', port: proxy.port } } : {}),
            });
            const guard = attach(api, {
              ...noWait,
              idempotencyKey: method === 'POST+key',
              deadlineMs: DEADLINE_MS,
              // staleIdleMs 0: every pooled socket counts as long idle, the most permissive case
              expert: { staleIdleMs: 0, learnIdleLimits: false },
            });
            try {
              // two pooled connections: a redirect's next hop reuses the second (the first
              // hop's socket goes with the redirect response)
              await Promise.all([api.get('/warm'), api.get('/warm')]);
              server.arm(cell, point);
              const url = `${path === 'direct' || path === 'proxy' ? '/target' : `/r${path}`}?cell=${cell}`;
              const started = Date.now();
              const sent = method === 'GET' ? api.get<string>(url) : api.post<string>(url, { cell });
              const result = await sent.then(
                (res) => ({ ok: true as const, res }),
                (error: unknown) => ({ ok: false as const, error }),
              );
              const elapsed = Date.now() - started;
              const applied = server.applied.get(cell) ?? 0;
              const want = promised(transport, path, point, method);
              const got: Outcome = { recovered: result.ok, applied: method === 'GET' ? 0 : applied };
              cells += `${got.recovered ? 'ok' : '--'}/${got.applied}${RESIDUAL(got) ? '!' : ''}`.padEnd(9);
              if (got.recovered !== want.recovered || got.applied !== want.applied || byDeadline(result)) {
                const why = result.ok
                  ? `recovered after ${attemptOf(result.res)?.attempt ?? '?'} attempts`
                  : `failed: ${failureOf(result.error)?.reason ?? String(result.error)}`;
                broken.push(
                  `${cell}: promised ${JSON.stringify(want)}, got ${JSON.stringify(got)} in ${elapsed} ms (${why})`,
                );
              }
              if (result.ok) expect(result.res.data).toBe(`ok:${cell}`);
            } finally {
              guard.detach();
            }
          }
          row.push(cells);
        }
      } finally {
        stop();
        await proxy?.close();
        await server.close();
        table.push(`${transport.padEnd(9)} ${path.padEnd(8)} ${loop.padEnd(5)} ${row.join(' ')}`);
      }
      expect(broken).toEqual([]);
    });
  });
});

describeUnless(lackingSessionSafety()).each(['h2c', 'h2-tls'] as const)('%s', (transport: H2Transport) => {
  it.each(['idle', 'busy'] as const)('path direct, event loop %s: every cell keeps its promise', async (loop) => {
    const server = await startH2FaultServer(transport === 'h2-tls');
    const stop = loop === 'busy' ? keepLoopBusy(0.8) : () => undefined;
    const row: string[] = [];
    const broken: string[] = [];
    try {
      for (const point of H2_FAULT_POINTS) {
        let cells = '';
        for (const method of METHODS) {
          const cell = `${transport}-direct-${loop}-${point}-${method.replace('+', '-')}`;
          const api = axios.create({
            baseURL: server.url,
            httpVersion: 2,
            http2Options: transport === 'h2-tls' ? { ca: server.ca } : {},
          });
          const guard = attach(api, {
            ...noWait,
            idempotencyKey: method === 'POST+key',
            deadlineMs: H2_DEADLINE_MS,
          });
          try {
            // a session to reuse (axios pools its HTTP/2 sessions by authority and options)
            await api.get('/warm');
            server.arm(cell, point);
            const url = `/target?cell=${cell}`;
            const started = Date.now();
            const sent = method === 'GET' ? api.get<string>(url) : api.post<string>(url, { cell });
            const result = await sent.then(
              (res) => ({ ok: true as const, res }),
              (error: unknown) => ({ ok: false as const, error }),
            );
            const elapsed = Date.now() - started;
            const applied = server.applied.get(cell) ?? 0;
            const want = promisedH2(point, method);
            const got: Outcome = { recovered: result.ok, applied: method === 'GET' ? 0 : applied };
            cells += `${got.recovered ? 'ok' : '--'}/${got.applied}${RESIDUAL(got) ? '!' : ''}`.padEnd(9);
            const inTime = byDeadline(result) === want.byDeadline;
            const first = result.ok
              ? attemptOf(result.res)?.history[0]?.kind
              : failureOf(result.error)?.classification.kind;
            const why = result.ok
              ? `recovered after ${attemptOf(result.res)?.attempt ?? '?'} attempts`
              : `failed: ${failureOf(result.error)?.reason ?? String(result.error)}`;
            if (got.recovered !== want.recovered || got.applied !== want.applied || !inTime) {
              broken.push(
                `${cell}: promised ${JSON.stringify(want)}, got ${JSON.stringify(got)} in ${elapsed} ms (${why})`,
              );
            }
            if (first !== H2_FIRST_KIND[point]) {
              broken.push(`${cell}: the fault was met as ${first ?? 'nothing'}, not ${H2_FIRST_KIND[point]} (${why})`);
            }
            if (result.ok) expect(result.res.data).toBe(`ok:${cell}`);
          } finally {
            guard.detach();
          }
        }
        row.push(cells);
      }
    } finally {
      stop();
      await server.close();
      h2Table.push(`${transport.padEnd(9)} ${'direct'.padEnd(8)} ${loop.padEnd(5)} ${row.join(' ')}`);
    }
    expect(broken).toEqual([]);
  });
});
