/**
 * HTTP/2 on 127.0.0.1: a real `node:http2` server, cleartext (h2c, prior knowledge, as axios
 * speaks it) or TLS with ALPN `h2` (the testbed's certificate), with a ledger of what its
 * application applied and a fault that the first attempt of each request meets.
 *
 * A request is named by its method and path (`GET /a/1`); the fault hits the first stream
 * that names it, its retries are served. The application APPLIES a request (counts it in
 * `applied`, a keyed POST once per `Idempotency-Key`) before any fault that may follow a
 * processed request (a lost session, a cut response): the worst case, where resending an
 * unkeyed POST would apply it twice. Streams the server refuses (REFUSED_STREAM, above a
 * GOAWAY's last stream id) are never applied, as the protocol promises.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { listen, track, type Closeable } from './net';
import { launch, nginxPrologue, type ProxyProcess } from './proxies';
import { testCertificate } from './tls';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Where the first attempt of a request meets its fault:
 * - `none`: every stream served;
 * - `refuse-burst`: the server allows one concurrent stream (`maxConcurrentStreams: 1`) and holds
 *   each answer `holdMs`: a burst sent before the client read the server's SETTINGS gets
 *   REFUSED_STREAM for all but one stream;
 * - `goaway-burst`: the first session waits for `burst` streams, sends a graceful GOAWAY
 *   (NO_ERROR) whose last stream id is the first of them, serves that one and closes; the
 *   others were never seen by the application (a graceful restart);
 * - `fin-before-headers`: applied, then the session's connection ends with a FIN, stream open;
 * - `rst-before-headers`: applied, then an RST on the TCP connection, stream open;
 * - `rst-stream-mid-body`: applied, headers and half the body, then RST_STREAM INTERNAL_ERROR
 *   (`stream.destroy(error)`);
 * - `fin-mid-body`: applied, headers (with content-length) and half the body, then a FIN;
 * - `cancel-before-headers`: applied, then RST_STREAM CANCEL, no headers.
 */
export type H2Fault =
  | 'none'
  | 'refuse-burst'
  | 'goaway-burst'
  | 'fin-before-headers'
  | 'rst-before-headers'
  | 'rst-stream-mid-body'
  | 'fin-mid-body'
  | 'cancel-before-headers';

export const H2_FAULTS: readonly Exclude<H2Fault, 'none'>[] = [
  'refuse-burst',
  'goaway-burst',
  'fin-before-headers',
  'rst-before-headers',
  'rst-stream-mid-body',
  'fin-mid-body',
  'cancel-before-headers',
];

export interface H2ServerOptions {
  fault?: H2Fault;
  /** TLS with ALPN h2 (the testbed's certificate) instead of cleartext. */
  tls?: boolean;
  /** `goaway-burst`: streams the first session waits for before its GOAWAY (default 3). */
  burst?: number;
  /** How long each answer is held (default 0; `refuse-burst` 50 ms). */
  holdMs?: number;
  /** The status of every answer (default 200): a 503 ends a request with an error and no fault. */
  status?: number;
}

export interface H2Server extends Closeable {
  /** The certificate to trust (`ca` in `http2Options`), for TLS. */
  readonly ca: string;
  /** Per `METHOD path`: how many times the application applied it (a keyed POST once per key). */
  readonly applied: Map<string, number>;
  /** Per `METHOD path`: streams that reached the application (refused ones never do). */
  readonly seen: Map<string, number>;
  /** Sessions the server accepted. */
  sessions: number;
  /** Streams the server opened, across sessions (refused ones not; ones above a GOAWAY's last id are). */
  streams: number;
  /** For each stream that reached the application, the 1-based number of its session. */
  readonly sessionOf: Map<string, number[]>;
  /** Faults injected so far, by kind. */
  readonly injected: Map<H2Fault, number>;
  /** Sessions that received the server's GOAWAY (their numbers). */
  readonly wentAway: number[];
}

/** The body every answer carries: the request named, padded so a half is a real cut. */
export function h2Body(method: string, path: string, applied: number): string {
  return JSON.stringify({ method, path, applied, pad: 'x'.repeat(4096) });
}

export async function startH2Server(options: H2ServerOptions = {}): Promise<H2Server> {
  const fault = options.fault ?? 'none';
  const burst = options.burst ?? 3;
  const holdMs = options.holdMs ?? (fault === 'refuse-burst' ? 50 : 0);
  const { key, cert } = testCertificate();
  const settings = fault === 'refuse-burst' ? { maxConcurrentStreams: 1 } : {};
  const server = options.tls
    ? http2.createSecureServer({ key, cert, settings, allowHTTP1: false })
    : http2.createServer({ settings });
  const state = {
    ca: cert,
    applied: new Map<string, number>(),
    seen: new Map<string, number>(),
    sessions: 0,
    streams: 0,
    sessionOf: new Map<string, number[]>(),
    injected: new Map<H2Fault, number>(),
    wentAway: [] as number[],
  };
  const keys = new Set<string>();
  const faulted = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const inject = (kind: H2Fault): void => void state.injected.set(kind, (state.injected.get(kind) ?? 0) + 1);

  // The TCP socket under each session (by the client's port): a TLS socket cannot send an RST.
  const tcp = new Map<number, Socket>();
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => undefined);
    const port = socket.remotePort ?? -1;
    tcp.set(port, socket);
    socket.once('close', () => tcp.delete(port));
  });
  const sockets = track(server);

  const sessions = new Set<http2.ServerHttp2Session>();
  const number = new WeakMap<http2.ServerHttp2Session, number>();
  const pending = new Map<http2.ServerHttp2Session, { stream: http2.ServerHttp2Stream; run: () => void }[]>();
  server.on('session', (session) => {
    state.sessions += 1;
    number.set(session, state.sessions);
    sessions.add(session);
    session.on('error', () => undefined);
    session.once('close', () => sessions.delete(session));
  });
  const tcpOf = (stream: http2.ServerHttp2Stream): Socket | undefined =>
    tcp.get(stream.session?.socket?.remotePort ?? -1);

  const apply = (method: string, path: string, headers: http2.IncomingHttpHeaders): number => {
    const name = `${method} ${path}`;
    const idem = headers['idempotency-key'];
    if (typeof idem === 'string') {
      if (keys.has(`${name} ${idem}`)) return state.applied.get(name) ?? 0;
      keys.add(`${name} ${idem}`);
    }
    const n = (state.applied.get(name) ?? 0) + 1;
    state.applied.set(name, n);
    return n;
  };

  const answer = (stream: http2.ServerHttp2Stream, body: string): void => {
    if (stream.destroyed || stream.closed) return;
    stream.respond({
      ':status': options.status ?? 200,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    stream.end(body);
  };

  server.on('stream', (stream, headers) => {
    state.streams += 1;
    stream.on('error', () => undefined);
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const name = `${method} ${path}`;
    const session = stream.session as http2.ServerHttp2Session;
    const sessionNumber = number.get(session) ?? 0;
    // the request body, read whole before the application runs
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const run = (): void => {
      state.seen.set(name, (state.seen.get(name) ?? 0) + 1);
      state.sessionOf.set(name, [...(state.sessionOf.get(name) ?? []), sessionNumber]);
      const first = !faulted.has(name);
      faulted.add(name);
      const act = first ? fault : 'none';
      if (act === 'goaway-burst' || act === 'refuse-burst') {
        // faults of the session, not of the stream: answered here
        const n = apply(method, path, headers);
        return void later(holdMs, () => answer(stream, h2Body(method, path, n)));
      }
      const n = apply(method, path, headers);
      const body = h2Body(method, path, n);
      switch (act) {
        case 'fin-before-headers':
          inject(act);
          return void tcpOf(stream)?.end();
        case 'rst-before-headers':
          inject(act);
          return void tcpOf(stream)?.resetAndDestroy();
        case 'cancel-before-headers':
          inject(act);
          return void stream.close(NGHTTP2_CANCEL);
        case 'rst-stream-mid-body':
        case 'fin-mid-body': {
          inject(act);
          stream.respond({
            ':status': 200,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          });
          stream.write(body.slice(0, body.length / 2));
          return void later(30, () => {
            if (act === 'fin-mid-body') tcpOf(stream)?.end();
            // destroy(err), not close(code): close() ends the stream first (END_STREAM, the
            // body short of its content-length) and only then resets, with the code 0
            else stream.destroy(new Error('testbed: RST_STREAM INTERNAL_ERROR mid-body'));
          });
        }
        default:
          return void later(holdMs, () => answer(stream, body));
      }
    };
    const ready = new Promise<void>((resolve) => {
      if (stream.readableEnded) resolve();
      else stream.once('end', resolve);
    });
    if (fault === 'goaway-burst' && sessionNumber === 1 && state.wentAway.length === 0) {
      // hold the first session's streams until the burst is in, then go away gracefully
      const held = pending.get(session) ?? [];
      pending.set(session, held);
      held.push({ stream, run: () => void ready.then(run) });
      if (held.length === burst) {
        const [firstStream] = held;
        const lastStreamId = firstStream!.stream.id ?? 0;
        state.wentAway.push(sessionNumber);
        inject('goaway-burst');
        session.goaway(NGHTTP2_NO_ERROR, lastStreamId);
        for (const h of held) if ((h.stream.id ?? 0) <= lastStreamId) h.run();
        // the streams above the last id are closed by nghttp2 when its GOAWAY goes out
        firstStream!.stream.once('close', () => session.close());
        later(2000, () => session.destroy());
      }
      return;
    }
    void ready.then(run);
  });

  const base = await listen(server, sockets, options.tls ? 'https' : 'http');
  return Object.assign(state, base, {
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const session of sessions) session.destroy();
      await base.close();
    },
  });
}

/** nginx serving HTTP/2 over TLS, with the commands its signals are sent with. */
export interface NginxH2 extends ProxyProcess {
  /** The certificate to trust (`ca` in `http2Options`). */
  readonly ca: string;
  /** nginx's version, e.g. `1.22.1`. */
  readonly version: string;
  /** `nginx -s reload` (new workers; the old ones finish their streams, send GOAWAY and exit). */
  reload(): Promise<void>;
  /** `nginx -s quit` (graceful), then waits for the master to exit. */
  quit(): Promise<void>;
}

/** The binary's version (`nginx -v` writes `nginx version: nginx/1.22.1` to stderr). */
export function nginxVersion(binary: string): string {
  const out = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return /nginx\/(\d+\.\d+\.\d+)/.exec(`${out.stderr}${out.stdout}`)?.[1] ?? '0.0.0';
}

const atLeast = (version: string, [major, minor, patch]: [number, number, number]): boolean => {
  const [a = 0, b = 0, c = 0] = version.split('.').map(Number);
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
};

function nginxH2Config(dir: string, port: number, upstream: number, version: string): string {
  // `http2 on;` exists from nginx 1.25.1; before it, `http2` is a parameter of `listen`
  // (Debian 12 ships 1.22.1).
  const modern = atLeast(version, [1, 25, 1]);
  return `${nginxPrologue(dir, ' (HTTP/2 over TLS)')}
  upstream node {
    server 127.0.0.1:${upstream};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${port} ssl${modern ? '' : ' http2'};
    ${modern ? 'http2 on;' : ''}
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass http://node;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** nginx (foreground, one worker) with `listen ... ssl` and HTTP/2, in front of `upstreamPort`. */
export async function startNginxH2(binary: string, upstreamPort: number): Promise<NginxH2> {
  const { key, cert } = testCertificate();
  const version = nginxVersion(binary);
  let args: string[] = [];
  const started = await launch('nginx', binary, (dir, port) => {
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
    writeFileSync(join(dir, 'cert.pem'), cert);
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxH2Config(dir, port, upstreamPort, version));
    args = ['-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log')];
    return args;
  });
  const signal = (name: 'reload' | 'quit'): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile(binary, [...args, '-s', name], (error, _stdout, stderr) =>
        error ? reject(new Error(`nginx -s ${name} failed: ${stderr}`)) : resolve(),
      );
    });
  const alive = (): boolean => {
    try {
      process.kill(started.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    ...started,
    url: `https://127.0.0.1:${started.port}`,
    ca: cert,
    version,
    reload: () => signal('reload'),
    quit: async () => {
      await signal('quit');
      const until = Date.now() + 10_000;
      while (alive()) {
        if (Date.now() > until) throw new Error('nginx did not exit within 10 s of -s quit');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}
