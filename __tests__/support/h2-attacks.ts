/**
 * The HTTP/2 red team's kit, shared by http2-adversarial*.test.ts: real node:http2 servers
 * (h2c and TLS with ALPN) whose handler the test writes, with a ledger of applied requests;
 * a raw h2c frame writer (frames in one write, exactly as ordered); guarded clients; and a
 * bounded wait for outcomes. Importing it registers the fixtures' cleanup in the test file.
 */
import http2 from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { AxiosError, AxiosInstance, AxiosResponse } from 'axios';
import { classify, type GuardOptions } from '../../src';
import { testCertificate } from '../../testbed/tls';
import { useFixtures } from './guarded';

export const { guarded, track } = useFixtures();
export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
export const WATCHED = NODE_MAJOR >= 22;
export const DEADLINE_MS = 2500;
export const GRACE_MS = 4000;
export const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR } = http2.constants;

export type Outcome = { state: 'resolved'; value: AxiosResponse } | { state: 'rejected'; error: AxiosError };

export async function settles(promise: Promise<AxiosResponse>, ms = DEADLINE_MS + GRACE_MS): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    const outcome = await Promise.race([
      promise.then(
        (value) => ({ state: 'resolved' as const, value }),
        (error: unknown) => ({ state: 'rejected' as const, error: error as AxiosError }),
      ),
      late,
    ]);
    if (outcome === 'pending') throw new Error(`still pending after ${ms} ms`);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

export const describeOutcome = (o: Outcome): string =>
  o.state === 'resolved'
    ? `resolved ${o.value.status}`
    : `rejected ${o.error.code} kind=${classify(o.error).kind} rst=${String(
        (o.error.request as { rstCode?: unknown } | undefined)?.rstCode,
      )}: ${o.error.message}`;

/** The raw TCP socket under a server session (its proxy refuses end/destroy), by client port. */
export const rawSockets = new Map<number, Socket>();
export const finOf = (stream: http2.ServerHttp2Stream): void =>
  void rawSockets.get(stream.session?.socket?.remotePort ?? -1)?.end();

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// A node:http2 server whose handler the test writes; the ledger counts applied requests.

export interface Ledger {
  applied: Map<string, number>;
  streams: number;
  sessions: number;
}

export type Handler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  apply: () => number,
) => void;

export async function h2Server(
  tls: boolean,
  handler: Handler,
  settings: http2.Settings = {},
): Promise<Ledger & { url: string; ca: string }> {
  const { key, cert } = testCertificate();
  const server = tls
    ? http2.createSecureServer({ key, cert, settings, allowHTTP1: false })
    : http2.createServer({ settings });
  const ledger: Ledger = { applied: new Map(), streams: 0, sessions: 0 };
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    const port = s.remotePort ?? -1;
    rawSockets.set(port, s);
    s.on('error', () => undefined);
    s.once('close', () => {
      sockets.delete(s);
      rawSockets.delete(port);
    });
  });
  server.on('session', (session) => {
    ledger.sessions += 1;
    sessions.add(session);
    session.on('error', () => undefined);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    ledger.streams += 1;
    stream.on('error', () => undefined);
    const name = `${String(headers[':method'])} ${String(headers[':path'])}`;
    const apply = (): number => {
      const n = (ledger.applied.get(name) ?? 0) + 1;
      ledger.applied.set(name, n);
      return n;
    };
    // the application runs once the whole request body is in
    stream.resume();
    if (stream.readableEnded) handler(stream, headers, apply);
    else stream.once('end', () => handler(stream, headers, apply));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  track({
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
  return Object.assign(ledger, { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, ca: cert });
}

export function client(
  server: { url: string; ca: string },
  tls: boolean,
  options: GuardOptions = {},
): { api: AxiosInstance; guard: ReturnType<typeof guarded>['guard'] } {
  return guarded(
    server.url,
    { deadlineMs: DEADLINE_MS, retries: 2, ...options },
    { httpVersion: 2, http2Options: tls ? { ca: server.ca } : {} },
  );
}

export const post = (api: AxiosInstance, path: string): Promise<AxiosResponse> =>
  api.post(path, JSON.stringify({ path }), { headers: { 'content-type': 'application/json' } });

// ---------------------------------------------------------------------------------------
// A raw h2c server: the test writes the frames, in one write when it wants them together.

export const frame = (type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(id & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
};
export const DATA = 0;
export const HEADERS = 1;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const GOAWAY = 7;
export const END_STREAM = 1;
export const END_HEADERS = 4;
export const ACK = 1;
/** HPACK: `:status` from the static table (200 = 0x88, 204 = 0x89), or a literal one (103). */
export const status = (code: number): Buffer =>
  code === 200
    ? Buffer.from([0x88])
    : code === 204
      ? Buffer.from([0x89])
      : Buffer.concat([Buffer.from([0x08, 3]), Buffer.from(String(code))]);
/** HPACK literal without indexing, new name. */
export const literal = (name: string, value: string): Buffer =>
  Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
export const rst = (id: number, code: number): Buffer => {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(RST_STREAM, 0, id, p);
};
export const goaway = (last: number, code: number): Buffer => {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(last);
  p.writeUInt32BE(code, 4);
  return frame(GOAWAY, 0, 0, p);
};

export interface RawLedger {
  /** Streams whose request (headers and body) ended: the application applied them. */
  applied: number;
  streams: number;
  connections: number;
  url: string;
}

/** `onRequest(id, socket)` runs once a stream's request ended; it writes the answer frames. */
export async function rawH2c(
  onRequest: (id: number, socket: Socket, ledger: RawLedger) => void,
  at: 'end' | 'headers' = 'end',
): Promise<RawLedger> {
  const ledger: RawLedger = { applied: 0, streams: 0, connections: 0, url: '' };
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    ledger.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let preface = false;
    socket.write(frame(SETTINGS, 0, 0));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!preface) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        preface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const type = buf.readUInt8(3);
        const flags = buf.readUInt8(4);
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === SETTINGS && (flags & ACK) === 0) socket.write(frame(SETTINGS, ACK, 0));
        if (type === HEADERS) ledger.streams += 1;
        if (at === 'headers' && type === HEADERS) {
          ledger.applied += 1;
          onRequest(id, socket, ledger);
        } else if (at === 'end' && (type === HEADERS || type === DATA) && (flags & END_STREAM) !== 0) {
          ledger.applied += 1;
          onRequest(id, socket, ledger);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ledger.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  track({
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
  return ledger;
}

export const BODY = JSON.stringify({ ok: true, pad: 'y'.repeat(2000) });
export const answer200 = (id: number, body = BODY): Buffer =>
  Buffer.concat([
    frame(HEADERS, END_HEADERS, id, Buffer.concat([status(200), literal('content-length', String(body.length))])),
    frame(DATA, END_STREAM, id, Buffer.from(body)),
  ]);
