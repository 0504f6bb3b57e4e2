/**
 * Canaries for src/foreign.ts: every private field or undocumented behaviour of Node,
 * axios, follow-redirects and agentkeepalive that the guard reads, checked against real
 * objects on 127.0.0.1. When one fails, a new release changed what the guard relies on:
 * the message names the field, and src/foreign.ts says what each read is for.
 */
import http, { ClientRequest, IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { AddressInfo, LookupFunction, Socket } from 'node:net';
import tls from 'node:tls';
import HttpAgent, { HttpsAgent } from 'agentkeepalive';
import axios, { type AxiosError, type InternalAxiosRequestConfig } from 'axios';
import {
  agentDefaultPortOf,
  agentOf,
  agentProtocolOf,
  calcSocketTimeoutOf,
  currentRequestOf,
  h2ResponseStarted,
  hostOf,
  interceptorHandlersOf,
  onSocketFree,
  pendingResponseOf,
  readableEndedOf,
  redirectCountOf,
  responseOf,
  secureEstablishedOf,
  type FreeOptions,
} from '../src/foreign';
import { nativeRequestOf } from '../src/native';
import { listen, testCertificate, track, type Closeable } from '../testbed';

/** Fails loudly, naming the field, when what the guard relies on no longer holds. */
function holds(field: string, ok: boolean, saw: unknown): void {
  if (!ok) {
    const shown = typeof saw === 'object' && saw !== null ? `a ${saw.constructor?.name ?? 'bare object'}` : String(saw);
    throw new Error(
      `${field} no longer holds (saw ${shown}): ` +
        'a new Node/axios/follow-redirects release changed it: see src/foreign.ts',
    );
  }
}

const closing: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

async function serve(server: http.Server | tls.Server, scheme = 'http'): Promise<Closeable> {
  const served = await listen(server, track(server), scheme);
  closing.push(() => served.close());
  return served;
}

describe('foreign fields the guard relies on', () => {
  it("follow-redirects: the wrapper's _currentRequest and _redirectCount after one redirect, then a reset", async () => {
    const server = await serve(
      http.createServer((req, res) => {
        if (req.url === '/start') res.writeHead(302, { location: '/next' }).end();
        else req.socket.resetAndDestroy();
      }),
    );
    const agent = new http.Agent({ keepAlive: false });
    closing.push(() => agent.destroy());
    const error = await axios.get(`${server.url}/start`, { maxRedirects: 5, httpAgent: agent }).then(
      () => undefined,
      (e: unknown) => e as AxiosError,
    );
    const wrapper = error?.request as object | undefined;
    holds(
      'follow-redirects wrapper as axios error.request',
      wrapper != null && !(wrapper instanceof ClientRequest),
      wrapper,
    );
    const current = currentRequestOf(wrapper as object);
    holds('follow-redirects _currentRequest', current instanceof ClientRequest, current);
    holds(
      'follow-redirects _currentRequest (the hop that failed)',
      (current as ClientRequest).path === '/next',
      current,
    );
    holds('follow-redirects _currentRequest (through nativeRequestOf)', nativeRequestOf(wrapper) === current, wrapper);
    const count = redirectCountOf(wrapper as object);
    holds('follow-redirects _redirectCount', count === 1, count);
  });

  it("Node's TLSSocket _secureEstablished: false before the handshake, true once it completed", async () => {
    const { key, cert } = testCertificate();
    const server = await serve(
      tls.createServer({ key, cert }, () => undefined),
      'tls',
    );
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: cert });
    closing.push(() => void socket.destroy());
    const before = secureEstablishedOf(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    holds('TLSSocket _secureEstablished (before the handshake)', before === false, before);
    const after = secureEstablishedOf(socket);
    holds('TLSSocket _secureEstablished (after the handshake)', after === true, after);
  });

  it("Node's agent 'free' event: the socket's _httpMessage.res, its _host; agentkeepalive's calcSocketTimeout; ClientRequest's res and agent", async () => {
    const server = await serve(
      http.createServer((_req, res) => {
        res.setHeader('keep-alive', 'timeout=7, max=3');
        res.end('ok');
      }),
    );
    const base = calcSocketTimeoutOf(HttpAgent);
    holds('agentkeepalive calcSocketTimeout (on the prototype)', typeof base === 'function', base);
    const computed: unknown[] = [];
    // the guard's recipe: a subclass overriding the method, calling the prototype's
    class Recording extends HttpAgent {
      calcSocketTimeout(socket: Socket): number | undefined {
        const ms = base.call(this, socket);
        computed.push(ms);
        return ms;
      }
    }
    const agent = new Recording({ keepAlive: true, freeSocketTimeout: 4000 });
    closing.push(() => agent.destroy());
    const freed = new Promise<{ socket: Socket; options: FreeOptions; keepAlive: unknown }>((resolve) => {
      // where the guard reads it: ahead of Node's own 'free' handler
      onSocketFree(
        agent,
        (socket, options) => resolve({ socket, options, keepAlive: pendingResponseOf(socket)?.headers['keep-alive'] }),
        { first: true },
      );
    });
    const response = await axios.get<string>(server.url, { httpAgent: agent, maxRedirects: 0 });
    const request = response.request as ClientRequest;
    const res = responseOf(request);
    holds('ClientRequest res', res instanceof IncomingMessage, res);
    const through = agentOf(request);
    holds('ClientRequest agent', through === agent, through);

    const { socket, options, keepAlive } = await freed;
    holds("socket _httpMessage.res at the agent's 'free' event", keepAlive === 'timeout=7, max=3', keepAlive);
    holds("agent 'free' event options (host)", options.host === '127.0.0.1', options.host);
    holds("agent 'free' event options (port)", Number(options.port) === server.port, options.port);
    // Node sets _host only for a name it looked up: an IP leaves it null (origins.ts then reads remoteAddress)
    const host = hostOf(socket);
    holds('net.Socket _host (connected to an IP)', host === undefined, host);
    holds('agentkeepalive calcSocketTimeout (called on release)', computed.includes(4000), computed.join());
  });

  it("Node's net.Socket _host: the name it was asked to connect to", async () => {
    const server = await serve(http.createServer((_req, res) => res.end('ok')));
    const agent = new http.Agent({ keepAlive: false });
    closing.push(() => agent.destroy());
    // the name resolves to 127.0.0.1 here, with no DNS query
    const lookup: LookupFunction = (_name, options, done) => {
      if (options.all === true)
        (done as (e: null, all: LookupAddress[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
      else done(null, '127.0.0.1', 4);
    };
    const host = await new Promise<string | undefined>((resolve, reject) => {
      const request = http.get({ host: 'origin.test', port: server.port, agent, lookup }, (res) => {
        resolve(hostOf(res.socket));
        res.resume();
      });
      request.on('error', reject);
    });
    holds('net.Socket _host (connected by name)', host === 'origin.test', host);
  });

  it("Node's agents' protocol and defaultPort", () => {
    const agents = [
      [new http.Agent(), 'http:', 80],
      [new https.Agent(), 'https:', 443],
      [new HttpAgent(), 'http:', 80],
      [new HttpsAgent(), 'https:', 443],
    ] as const;
    for (const [agent, protocol, port] of agents) {
      holds(`${agent.constructor.name} protocol`, agentProtocolOf(agent) === protocol, agentProtocolOf(agent));
      holds(`${agent.constructor.name} defaultPort`, agentDefaultPortOf(agent) === port, agentDefaultPortOf(agent));
      agent.destroy();
    }
  });

  it("HTTP/2: axios's statusCode on the stream, and the stream's _readableState.ended", async () => {
    const server = http2.createServer();
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => sessions.add(session));
    let release: () => void = () => undefined;
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.write('part ');
      release = () => stream.end('end');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          for (const session of sessions) session.destroy();
          server.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // Node's own stream: nothing sets statusCode on it
    const client = http2.connect(url);
    closing.push(() => void client.destroy());
    const plain = client.request({ ':path': '/' });
    holds(
      'ClientHttp2Stream statusCode (unset by Node)',
      !h2ResponseStarted(plain),
      (plain as { statusCode?: unknown }).statusCode,
    );
    plain.close();

    const response = await axios.get(url, {
      httpVersion: 2,
      http2Options: { sessionTimeout: 50 },
      responseType: 'stream',
    });
    const stream = response.request as http2.ClientHttp2Stream;
    holds(
      "axios's statusCode on the HTTP/2 stream",
      h2ResponseStarted(stream),
      (stream as { statusCode?: unknown }).statusCode,
    );
    const before = readableEndedOf(stream);
    holds('Readable _readableState.ended (before the end arrived)', before === false, before);
    const body = response.data as NodeJS.ReadableStream;
    const ended = new Promise<void>((resolve) => body.on('end', resolve));
    body.resume();
    release();
    await ended;
    const after = readableEndedOf(stream);
    holds('Readable _readableState.ended (after the end arrived)', after === true, after);
  });

  it("axios's InterceptorManager handlers: what use() registered", () => {
    const instance = axios.create();
    const fulfilled = (config: InternalAxiosRequestConfig): InternalAxiosRequestConfig => config;
    const before = interceptorHandlersOf(instance.interceptors.request);
    holds('InterceptorManager handlers (an array)', Array.isArray(before), before);
    instance.interceptors.request.use(fulfilled);
    const handlers = interceptorHandlersOf(instance.interceptors.request);
    holds(
      'InterceptorManager handlers (use() adds to it)',
      handlers?.some((h) => h?.fulfilled === fulfilled) === true,
      handlers,
    );
  });
});
