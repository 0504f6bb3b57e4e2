/**
 * Every read of another library's private field or undocumented behaviour, in one place:
 * Node's http, net, tls and stream internals, follow-redirects, axios and agentkeepalive.
 * None of them offers a public way to the fact read here. Each accessor names what it
 * relies on; a canary test checks every one against real objects, so a release that
 * changes one fails there, by name, rather than somewhere downstream
 * (https://github.com/axios-reset-guard/axios-reset-guard/blob/main/__tests__/foreign.test.ts).
 * Type imports only: this module loads nothing, in Node or in a browser bundle.
 */
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/**
 * follow-redirects 1.x (axios's `error.request` when `maxRedirects > 0`): its wrapper keeps
 * the current hop's native ClientRequest as `_currentRequest`, with no getter.
 */
export function currentRequestOf(wrapper: object): unknown {
  return (wrapper as { _currentRequest?: unknown })._currentRequest;
}

/**
 * follow-redirects 1.x: redirects followed so far, `_redirectCount` on its wrapper. A
 * failed hop has no response, so the public `redirects` list never reaches the caller.
 */
export function redirectCountOf(wrapper: object): number | undefined {
  const count = (wrapper as { _redirectCount?: unknown })._redirectCount;
  return typeof count === 'number' ? count : undefined;
}

/**
 * Node's TLSSocket sets `_secureEstablished` once the handshake completed; `authorized`
 * also stays false for a finished handshake with an unverified certificate.
 * `undefined` on runtimes that lack the field.
 */
export function secureEstablishedOf(socket: TLSSocket): boolean | undefined {
  return (socket as TLSSocket & { _secureEstablished?: boolean })._secureEstablished;
}

/**
 * The response a client socket carried last: Node's `socket._httpMessage` (the ClientRequest
 * on it, still set when its agent emits 'free') and that request's `res`, both undocumented.
 * The agent's 'free' event hands over the socket and its options, not the response.
 */
export function pendingResponseOf(socket: Duplex): IncomingMessage | undefined {
  const message = (socket as { _httpMessage?: { res?: IncomingMessage | null } | null })._httpMessage;
  return message?.res ?? undefined;
}

/**
 * Node's net.Socket keeps the host name it was asked to connect to as `_host`;
 * `remoteAddress` is only the resolved IP.
 */
export function hostOf(socket: Socket): string | undefined {
  const host = (socket as { _host?: unknown })._host;
  return typeof host === 'string' ? host : undefined;
}

/**
 * Node's Readable: `_readableState.ended` turns true when the end of the data arrived
 * (push(null)); the public `readableEnded` waits until 'end' is emitted, after the body
 * was read. `undefined` when the stream has no such state.
 */
export function readableEndedOf(stream: object): boolean | undefined {
  const ended = (stream as { _readableState?: { ended?: unknown } | null })._readableState?.ended;
  return typeof ended === 'boolean' ? ended : undefined;
}

/** One entry of an axios interceptor list (`null` once ejected). */
export interface InterceptorHandler {
  fulfilled?: unknown;
  rejected?: unknown;
}

/**
 * axios's InterceptorManager keeps what `use()` registered in its `handlers` array (typed
 * but undocumented; `clear()` replaces the array). axios offers no way to list them.
 */
export function interceptorHandlersOf(
  manager: unknown,
): readonly (InterceptorHandler | null | undefined)[] | null | undefined {
  return (manager as { handlers?: readonly (InterceptorHandler | null | undefined)[] | null } | undefined)?.handlers;
}

/**
 * axios's HTTP/2 transport (`httpVersion: 2`) sets `statusCode` on the ClientHttp2Stream
 * when the response headers arrive; Node keeps no such fact on the stream.
 */
export function h2ResponseStarted(stream: object): boolean {
  return typeof (stream as { statusCode?: unknown }).statusCode === 'number';
}

/** Node's ClientRequest sets the undocumented `res` once the response head was parsed. */
export function responseOf(request: ClientRequest): unknown {
  return (request as { res?: unknown }).res;
}

/** Node's ClientRequest keeps the agent it was sent through as the undocumented `agent`. */
export function agentOf(request: ClientRequest): unknown {
  return (request as { agent?: unknown }).agent;
}

/** Node's http.Agent and https.Agent set the undocumented `protocol` (`'http:'`, `'https:'`). */
export function agentProtocolOf(agent: Agent): string | undefined {
  return (agent as { protocol?: string }).protocol;
}

/** Node's http.Agent and https.Agent set the undocumented `defaultPort` (80, 443). */
export function agentDefaultPortOf(agent: Agent): number | undefined {
  return (agent as { defaultPort?: number }).defaultPort;
}

/** What Node's agent passes with a freed socket: the request's connection options. */
export type FreeOptions = Parameters<Agent['getName']>[0] & { port?: unknown };

/**
 * Node's http.Agent emits the undocumented 'free' event (socket, connection options) when a
 * request is done with a keep-alive socket; its own listener pools the socket or hands it
 * to a queued request. `first`: run before that listener (it is registered in the
 * constructor). Node offers no documented hook at that moment. Returns the undo.
 */
export function onSocketFree(
  agent: Agent,
  listener: (socket: Socket, options: FreeOptions) => void,
  { first = false } = {},
): () => void {
  if (first) agent.prependListener('free', listener);
  else agent.on('free', listener);
  return () => {
    agent.off('free', listener);
  };
}

/** agentkeepalive's per-release free-socket timeout computation, as its classes define it. */
export type CalcSocketTimeout = (this: unknown, socket: Duplex) => number | undefined;

/**
 * agentkeepalive 4.x computes a freed socket's timeout in its prototype method
 * `calcSocketTimeout` (not in its typings or README), which a subclass may override.
 */
export function calcSocketTimeoutOf(agentClass: abstract new (...args: never[]) => Agent): CalcSocketTimeout {
  return (agentClass.prototype as { calcSocketTimeout: CalcSocketTimeout }).calcSocketTimeout;
}
