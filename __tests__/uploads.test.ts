/**
 * Replayable uploads: a stream body (a file, form-data) is consumed by the attempt that
 * sends it, so only a `resetGuard.body` factory makes it retryable. On real sockets: an
 * upload cut by a reset is resent whole and byte-identical, a multipart body gets a
 * consistent new boundary, a factory that throws ends the request with its own error.
 * With nock: the factory is called once per retry.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync, type ReadStream } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import FormData from 'form-data';
import nock from 'nock';
import axios from 'axios';
import { attach, attemptOf, failureOf, type Guard } from '../src';
import { listen, track, type Closeable } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'arg-upload-'));
const file = join(dir, 'upload.bin');
const content = randomBytes(1024 * 1024);
writeFileSync(file, content);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Received {
  readonly hash: string;
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** Resets the first upload after 64 KiB arrived; takes the others whole. */
async function uploadServer(): Promise<Closeable & { uploads: Received[]; hits: number }> {
  const state = { uploads: [] as Received[], hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits += 1;
    const first = state.hits === 1;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (first && size >= 64 * 1024) req.socket.resetAndDestroy();
    });
    req.on('end', () => {
      if (first) return;
      const bytes = Buffer.concat(chunks);
      state.uploads.push({ hash: sha256(bytes), bytes, contentType: String(req.headers['content-type']) });
      res.end('stored');
    });
  });
  return Object.assign(state, await listen(server, track(server)));
}

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  it('a file upload cut by a reset is resent whole and byte-identical; the cut stream is closed', async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const streams: ReadStream[] = [];
    const open = (): ReadStream => {
      const stream = createReadStream(file);
      streams.push(stream);
      return stream;
    };
    const first = open();
    const res = await api.put('/files/a', first, { resetGuard: { body: open } });
    expect(res.data).toBe('stored');
    expect(attemptOf(res)!.attempt).toBe(2);
    expect(streams).toHaveLength(2); // `data` for the first attempt, the factory for the retry
    expect(server.uploads.map((u) => u.hash)).toEqual([sha256(content)]);
    expect(first.destroyed).toBe(true);
  });

  it('a multipart upload (form-data) is resent with a new boundary that its Content-Type names', async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url, { idempotencyKey: true });
    const form = (): FormData => {
      const f = new FormData();
      f.append('name', 'report');
      f.append('file', createReadStream(file), { filename: 'upload.bin' });
      return f;
    };
    // no `data`: the factory makes the first body too
    const res = await api.post('/forms', undefined, { resetGuard: { body: form } });
    expect(res.data).toBe('stored');
    expect(attemptOf(res)!.attempt).toBe(2);
    const [upload] = server.uploads;
    const boundary = /boundary=(\S+)/.exec(upload!.contentType)![1]!;
    const body = upload!.bytes;
    expect(body.subarray(body.length - boundary.length - 6).toString()).toBe(`--${boundary}--\r\n`);
    const start = body.indexOf('\r\n\r\n', body.indexOf('filename="upload.bin"')) + 4;
    expect(sha256(body.subarray(start, start + content.length))).toBe(sha256(content));
  });

  it('a POST upload without a key is still not resent after a reset (the method rules hold)', async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const error = await failure(
      api.post('/files', createReadStream(file), { resetGuard: { body: () => createReadStream(file) } }),
    );
    expect(failureOf(error)!.reason).toBe('POST is not idempotent and a reset failure may have reached the server');
    expect(server.hits).toBe(1);
  });

  it("a retry does not inherit the first body's Content-Length: a longer body arrives whole", async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const first = Buffer.alloc(100 * 1024, 1); // reset after 64 KiB
    const longer = Buffer.alloc(150 * 1024, 2);
    const res = await api.put('/files/c', first, { resetGuard: { body: () => longer } });
    expect(res.data).toBe('stored');
    expect(server.uploads.map((u) => u.hash)).toEqual([sha256(longer)]);
  });

  it('a Content-Length the caller declared is kept for every body', async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const res = await api.put('/files/d', undefined, {
      headers: { 'content-length': String(content.length) },
      resetGuard: { body: () => createReadStream(file) },
    });
    expect(res.data).toBe('stored');
    expect(server.uploads.map((u) => u.hash)).toEqual([sha256(content)]);
  });

  it('the last stream the factory made is closed when the request fails (the caller never held it)', async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const made: ReadStream[] = [];
    const error = await failure(
      api.post('/files', undefined, {
        resetGuard: {
          body: () => {
            const stream = createReadStream(file);
            made.push(stream);
            return stream;
          },
        },
      }),
    );
    expect(failureOf(error)!.reason).toMatch(/^POST is not idempotent/);
    expect(made).toHaveLength(1);
    expect(made[0]!.destroyed).toBe(true);
  });

  it('a factory must return what an adapter sends as it is, not a promise or an object', async () => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    for (const body of [() => Promise.resolve('x'), () => ({ a: 1 })]) {
      await expect(api.put('/files/e', undefined, { resetGuard: { body } })).rejects.toMatchObject({
        name: 'ResetGuardOptionError',
        option: 'resetGuard.body',
      });
    }
    expect(server.hits).toBe(0);
  });

  // Measured with axios 1.21: its http adapter sends strings, Buffers, ArrayBuffers, streams, Blob and
  // spec FormData as they are and rejects other views ("Data after transformation must be ...").
  it.each([
    ['Buffer', () => content],
    ['ArrayBuffer', () => content.buffer.slice(content.byteOffset, content.byteOffset + content.length)],
    ['string', () => content.toString('hex')], // sent as UTF-8: the hex text, whole
    ['Blob', () => new Blob([content])],
    ['Readable', () => createReadStream(file)],
  ])('a factory %s is resent whole after a reset', async (name, body) => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const res = await api.put('/files/g', undefined, {
      headers: { 'content-type': 'application/octet-stream' },
      resetGuard: { body },
    });
    expect(res.data).toBe('stored');
    const sent = name === 'string' ? Buffer.from(content.toString('hex')) : content;
    expect(server.uploads.map((u) => u.hash)).toEqual([sha256(sent)]);
  });

  it.each([
    ['Uint8Array', () => new Uint8Array(content)],
    ['DataView', () => new DataView(new ArrayBuffer(8))],
    ['Float64Array', () => new Float64Array(4)],
  ])('a factory %s (axios would reject it) is a typed error naming its type, nothing sent', async (name, body) => {
    const server = await serve(uploadServer());
    const { api } = guarded(server.url);
    const error = await api.put('/files/h', undefined, { resetGuard: { body } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ResetGuardOptionError', option: 'resetGuard.body' });
    expect((error as Error).message).toContain(name);
    expect(server.hits).toBe(0);
  });

  it('a request let in just before detach() still sends the body its factory makes', async () => {
    const server = await serve(uploadServer());
    server.hits = 1; // no reset: take the first upload whole
    const api = axios.create({ baseURL: server.url });
    const holder: { guard?: Guard } = {};
    // added before attach, so it runs after the guard's interceptor
    api.interceptors.request.use((config) => (holder.guard!.detach(), config));
    holder.guard = attach(api);
    const res = await api.put('/files/f', undefined, { resetGuard: { body: () => createReadStream(file) } });
    expect(res.data).toBe('stored');
    expect(server.uploads.map((u) => u.hash)).toEqual([sha256(content)]);
  });

  it('a factory that throws ends the request with its own error', async () => {
    const server = await serve(uploadServer());
    const { api, guard } = guarded(server.url);
    const gone = new Error('the file is gone');
    const error = await api
      .put('/files/b', createReadStream(file), {
        resetGuard: {
          body: () => {
            throw gone;
          },
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBe(gone);
    expect(server.hits).toBe(1);
    expect(guard.stats().attempts).toBe(1);
  });
});

describe('with nock', () => {
  let guard: ReturnType<typeof rig>['guard'] | undefined;
  useNock(() => guard);

  it('calls the factory once per retry, and the retry sends its body', async () => {
    const rigged = rig(ORIGIN);
    guard = rigged.guard;
    const bodies: string[] = [];
    nock(ORIGIN)
      .put('/up', (body: string) => (bodies.push(body), true))
      .replyWithError(reset())
      .put('/up', (body: string) => (bodies.push(body), true))
      .reply(200, 'ok');
    let calls = 0;
    const res = await rigged.instance.put('/up', Readable.from(['first']), {
      headers: { 'content-type': 'application/octet-stream' },
      resetGuard: { body: () => Readable.from([`again-${(calls += 1)}`]) },
    });
    expect(res.data).toBe('ok');
    expect(calls).toBe(1);
    expect(bodies[bodies.length - 1]).toBe('again-1');
  });

  it('refuses `body` as an instance option: a body belongs to one request', () => {
    expect(() => rig(ORIGIN, { body: () => 'x' } as never)).toThrow(/"body" must be a known option/);
  });
});
