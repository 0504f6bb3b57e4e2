/**
 * A stand-in upstream for running the examples as scripts: a local HTTP server on
 * 127.0.0.1 that resets (TCP RST, no response) the requests `reset()` picks, the way an
 * overloaded server or a proxy does. Not part of what you would copy into your project.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FlakyUpstream {
  readonly url: string;
  close(): Promise<void>;
}

export interface FlakyUpstreamOptions {
  /** Reset this request instead of answering (n counts every request, from 1). */
  reset: (req: IncomingMessage, n: number) => boolean;
  /** The JSON answer to a request that is not reset. */
  answer: (req: IncomingMessage, body: string) => { status?: number; json: unknown };
}

export async function startFlakyUpstream(options: FlakyUpstreamOptions): Promise<FlakyUpstream> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server = http.createServer((req, res) => {
    n += 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (options.reset(req, n)) {
        req.socket.resetAndDestroy();
        return;
      }
      const { status = 200, json } = options.answer(req, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
