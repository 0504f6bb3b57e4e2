/**
 * The HTTP/2 scenario's server (h2c on 127.0.0.1, `node:http2`): a busy service that
 * restarts mid-burst the way a graceful shutdown does, and keeps a ledger of the writes
 * it applied, across the restart, so a POST applied twice shows.
 *
 * Under load: `workers` requests are worked on at once (each takes `workMs(n)`), the rest
 * wait in a queue. A POST is applied (written to the ledger) when its work starts; a POST
 * with an `Idempotency-Key` the server has already applied is answered without applying
 * it again, as a server honouring keys does.
 *
 * The restart, once request `whenReceived` has arrived, as a rolling deploy does it: the old
 * server stops listening and sends every session a GOAWAY (NO_ERROR) whose last-stream-id
 * is the highest stream it started working on (queued streams above it were never
 * touched: the client may send them again); `downMs` later a new server listens on the
 * same port (new connections are refused in between), while the old one gives its work
 * in progress `graceMs` to finish, then ends every session still open with a FIN, streams
 * and all (a process exiting after its grace period).
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { pause } from '../testbed';
import type { Target } from '../testbed/faults';

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

export interface H2RestartOptions {
  /** Requests worked on at once; the rest queue. */
  readonly workers: number;
  /** How long request i (the `i` of `GET /items?i=`, the `id` of a POST's body) takes once a worker has it. */
  readonly workMs: (i: number) => number;
  /**
   * The restart comes once this request has arrived (whatever the machine's load, the ones
   * before it are then in progress or queued), or `atMs` after the traffic started if it
   * never comes.
   */
  readonly whenReceived: number;
  readonly atMs: number;
  readonly graceMs: number;
  readonly downMs: number;
}

/** What the server saw, both lives together. */
export interface H2Ledger {
  /** Distinct POSTs (by the body's `id`) applied at least once. */
  readonly postsApplied: number;
  /** POSTs applied more than once: duplicate writes. */
  readonly appliedTwice: number;
  /** Keyed POSTs answered from the key store instead of being applied again. */
  readonly keyedReplays: number;
  /** Streams above a GOAWAY's last-stream-id, dropped unprocessed. */
  readonly refusedStreams: number;
  /** Streams still being worked on when the grace period ended (their session got a FIN). */
  readonly cutStreams: number;
}

export interface H2Target extends Target {
  ledger(): H2Ledger;
}

interface Job {
  readonly session: http2.Http2Session;
  readonly streamId: number;
  /** The request's index: `i` of `GET /items?i=`, `id` of a POST's body. */
  readonly index: number;
  readonly stream: http2.ServerHttp2Stream;
  readonly method: string;
  readonly key: string | undefined;
  readonly body: string;
}

const BODY = JSON.stringify({ ok: true, items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}` })) });

export async function h2RestartingServer(options: H2RestartOptions): Promise<H2Target> {
  const applied = new Map<string, number>();
  const keys = new Set<string>();
  const counts = { keyedReplays: 0, refusedStreams: 0, cutStreams: 0 };
  let reached: () => void = () => undefined;
  const restartPoint = new Promise<void>((resolve) => (reached = resolve));

  /** One life of the server: its listener, sessions, queue and workers. */
  const life = async (port: number) => {
    const server = http2.createServer();
    const sessions = new Set<http2.ServerHttp2Session>();
    /** Highest stream id a worker started on, per session: the GOAWAY's last-stream-id. */
    const started = new Map<http2.Http2Session, number>();
    const working = new Set<http2.ServerHttp2Stream>();
    const timers = new Set<NodeJS.Timeout>();
    let queue: Job[] = [];
    let busy = 0;
    let draining = false;

    const next = (): void => {
      while (busy < options.workers && queue.length > 0) {
        const job = queue.shift()!;
        const { stream } = job;
        if (stream.destroyed || stream.closed) continue;
        busy += 1;
        started.set(job.session, Math.max(started.get(job.session) ?? 0, job.streamId));
        working.add(stream);
        let status = 200;
        let answer = BODY;
        if (job.method === 'POST') {
          const id = String(job.index);
          if (job.key !== undefined && keys.has(job.key)) {
            counts.keyedReplays += 1;
          } else {
            applied.set(id, (applied.get(id) ?? 0) + 1);
            if (job.key !== undefined) keys.add(job.key);
            status = 201;
          }
          answer = JSON.stringify({ ok: true, id });
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          working.delete(stream);
          busy -= 1;
          if (!stream.destroyed && !stream.closed) {
            stream.respond({ ':status': status, 'content-type': 'application/json' });
            stream.end(answer);
          }
          next();
        }, options.workMs(job.index));
        timers.add(timer);
      }
    };

    server.on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
      session.on('error', () => undefined);
    });
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      if (draining) {
        counts.refusedStreams += 1;
        stream.close(NGHTTP2_REFUSED_STREAM);
        return;
      }
      const key = headers['idempotency-key'];
      let body = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => {
        const method = String(headers[':method']);
        const index =
          method === 'POST'
            ? Number((JSON.parse(body || '{}') as { id?: unknown }).id)
            : Number(new URL(String(headers[':path']), 'http://x').searchParams.get('i'));
        queue.push({
          session: stream.session!,
          streamId: stream.id ?? 0,
          index,
          stream,
          method,
          key: typeof key === 'string' ? key : undefined,
          body,
        });
        next();
        // A turn later, not from inside this stream's event: Node 20 aborts the process
        // ("corrupted size vs. prev_size", 10 of 12 runs) when a session is sent GOAWAY and
        // streams are refused from a callback of its own stream's.
        if (index === options.whenReceived) setImmediate(reached);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

    return {
      port: (server.address() as AddressInfo).port,
      /** GOAWAY to every session and stop listening; after graceMs, a FIN to what is left. */
      restart: async (): Promise<void> => {
        draining = true;
        server.close();
        for (const session of sessions) {
          const last = started.get(session) ?? 0;
          session.goaway(NGHTTP2_NO_ERROR, last);
          for (const job of queue) {
            if (job.session === session && job.streamId > last) {
              counts.refusedStreams += 1;
              job.stream.close(NGHTTP2_REFUSED_STREAM);
            }
          }
        }
        queue = [];
        await pause(options.graceMs);
        counts.cutStreams += [...working].filter((s) => !s.closed && !s.destroyed).length;
        for (const timer of timers) clearTimeout(timer);
        // the process exits: its sockets end with a FIN, whatever streams they carry
        for (const session of sessions) session.destroy();
      },
      close: async (): Promise<void> => {
        for (const timer of timers) clearTimeout(timer);
        for (const session of sessions) session.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  };

  const lives = [await life(0)];
  const { port } = lives[0]!;
  return {
    url: `http://127.0.0.1:${port}`,
    during: {
      atMs: 0,
      run: async () => {
        // (a worker starts on that request within the restart's own timing, outside it
        // only when it never came: `atMs` is the bound, not the plan)
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([restartPoint, new Promise<void>((resolve) => (bound = setTimeout(resolve, options.atMs)))]);
        clearTimeout(bound);
        const exiting = lives[0]!.restart();
        await pause(options.downMs);
        lives.push(await life(port));
        await exiting;
      },
    },
    close: async () => void (await Promise.all(lives.map((l) => l.close()))),
    ledger: () => ({
      postsApplied: applied.size,
      appliedTwice: [...applied.values()].filter((n) => n > 1).length,
      ...counts,
    }),
  };
}
