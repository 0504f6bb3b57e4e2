/**
 * TLS on 127.0.0.1: a self-signed test certificate made with the openssl CLI, and an
 * HTTPS server that resets handshakes on demand.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, track, type Closeable } from './net';

let certificate: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1, made once per process with openssl. */
export function testCertificate(): { key: string; cert: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'arg-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    certificate = {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TlsServer extends Closeable {
  /** The certificate to trust (`ca`). */
  readonly ca: string;
  handshakeResets: number;
  hits: number;
}

/**
 * HTTPS server that resets the first `resetHandshakeFirst` connections after their
 * ClientHello, and the connection of each request `resetRequest` picks (n is 1-based),
 * with an RST on its TCP socket before any response byte.
 */
export async function startTlsServer(
  resetHandshakeFirst: number,
  resetRequest: (n: number) => boolean = () => false,
): Promise<TlsServer> {
  const { key, cert } = testCertificate();
  const state = { handshakeResets: 0, hits: 0, ca: cert };
  // TCP sockets by the client's port: a TLS socket cannot send an RST itself.
  const raw = new Map<number, net.Socket>();
  const secure = https.createServer({ key, cert }, (req, res) => {
    state.hits += 1;
    const tcp = raw.get(req.socket.remotePort ?? -1);
    if (resetRequest(state.hits) && tcp !== undefined) {
      tcp.resetAndDestroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, n: state.hits }));
  });
  let accepted = 0;
  const front = net.createServer((socket) => {
    accepted += 1;
    if (accepted <= resetHandshakeFirst) {
      socket.once('data', () => {
        state.handshakeResets += 1;
        socket.resetAndDestroy();
      });
      return;
    }
    const port = socket.remotePort ?? -1;
    raw.set(port, socket);
    socket.once('close', () => raw.delete(port));
    secure.emit('connection', socket);
  });
  const sockets = track(front);
  const base = await listen(front, sockets, 'https');
  return Object.assign(state, base, {
    close: async () => {
      await base.close();
      secure.close();
    },
  });
}
