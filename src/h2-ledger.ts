/** What one guard saw of its HTTP/2 origins: streams, sessions, GOAWAYs, refused and lost streams. */
import { noteGoaway, type H2StreamLike } from './h2-facts';
import { MAX_ORIGINS } from './keep-alive';
import type { Http2Stats } from './origin-facts';

type Counts = { -readonly [K in keyof Http2Stats]: number };

// One 'goaway' listener per session however many guards share it (axios's pool is
// process-wide): it marks the session and counts the GOAWAY for each guard's origin.
const goawayCounts = new WeakMap<object, Set<Counts>>();

function watchGoaway(session: object, counts: Counts): void {
  let counted = goawayCounts.get(session);
  if (counted === undefined) {
    const all = new Set<Counts>();
    let wentAway = false;
    counted = all;
    goawayCounts.set(session, all);
    // (`on`: a server may send a GOAWAY naming the highest id first, then the real last one)
    (session as { on?: (event: string, listener: (code: unknown, last: unknown) => void) => void }).on?.(
      'goaway',
      (_code, lastStreamId) => {
        noteGoaway(session, lastStreamId);
        // sessions that went away, however many GOAWAY frames each received
        if (!wentAway) for (const c of all) c.goaways += 1;
        wentAway = true;
      },
    );
  }
  counted.add(counts);
}

/** One guard's HTTP/2 facts, by origin. */
export class Http2Ledger {
  readonly #origins = new Map<string, Counts>();
  readonly #streams = new WeakSet<object>();
  readonly #sessions = new WeakSet<object>();
  #latest: string | undefined;

  /** Counts `stream` (once) and its session (once), and listens for the session's GOAWAY. */
  noteStream(origin: string, stream: H2StreamLike, session = stream.session): void {
    if (this.#streams.has(stream)) return;
    this.#streams.add(stream);
    const counts = this.#of(origin);
    counts.streams += 1;
    if (session === undefined || this.#sessions.has(session)) return;
    this.#sessions.add(session);
    counts.sessions += 1;
    watchGoaway(session, counts);
  }

  /** Counts a failed attempt of an HTTP/2 kind. */
  noteFailure(origin: string, kind: 'refused-stream' | 'session-lost'): void {
    this.#of(origin)[kind === 'refused-stream' ? 'refusedStreams' : 'sessionsLost'] += 1;
  }

  /** The facts of `origin`, if it was reached over HTTP/2. */
  statsOf(origin: string): Http2Stats | undefined {
    const counts = this.#origins.get(origin);
    return counts === undefined ? undefined : Object.freeze({ ...counts });
  }

  /** Origins reached over HTTP/2. */
  origins(): string[] {
    return [...this.#origins.keys()];
  }

  #of(origin: string): Counts {
    let counts = this.#origins.get(origin);
    // The origin heard of last is already last in the map's order: nothing to move.
    if (counts !== undefined && origin === this.#latest) return counts;
    if (counts === undefined) {
      counts = { streams: 0, sessions: 0, goaways: 0, refusedStreams: 0, sessionsLost: 0 };
      // As the origin memory does: at most MAX_ORIGINS, the one heard of least recently goes.
      if (this.#origins.size >= MAX_ORIGINS) this.#origins.delete(this.#origins.keys().next().value as string);
    } else {
      this.#origins.delete(origin);
    }
    this.#origins.set(origin, counts);
    this.#latest = origin;
    return counts;
  }
}
