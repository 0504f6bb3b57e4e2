/**
 * What plain axios takes from Node's global agents when an instance has none: a guard
 * whose own agents replace them must keep it (a `ca`, client certificates, `lookup`), and
 * a global agent replaced by another class (a proxy agent, a subclass) is adopted as it is.
 * Real TLS servers with a self-signed certificate; the globals are restored after each test.
 */
import http from 'node:http';
import https from 'node:https';
import axios from 'axios';
import { attach, attemptOf } from '../src';
import { startHttpServer, startTlsServer } from '../testbed';
import { failure } from './support/failure';
import { noWait, useFixtures } from './support/guarded';

const { serve, guards } = useFixtures();
const original = { http: http.globalAgent, https: https.globalAgent };

afterEach(() => {
  http.globalAgent = original.http;
  https.globalAgent = original.https;
  delete (https.globalAgent.options as { ca?: unknown }).ca;
});

it("keeps the global agent's TLS settings: a ca set there still verifies the server", async () => {
  const server = await serve(startTlsServer(0));
  const unset = axios.create({ baseURL: server.url });
  expect((await failure(unset.get('/'))).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

  https.globalAgent.options.ca = server.ca;
  expect((await axios.get<{ ok: boolean }>(`${server.url}/plain`)).data.ok).toBe(true);
  const api = axios.create({ baseURL: server.url });
  const guard = attach(api, noWait);
  guards.push(guard);
  expect(guard.agents.https).not.toBe(https.globalAgent); // the guard's own keep-alive agent...
  expect((guard.agents.https as unknown as { options: { ca?: unknown } }).options.ca).toBe(server.ca); // ...with its ca
  const res = await api.get<{ ok: boolean }>('/guarded');
  expect(res.data.ok).toBe(true);
  // and the pool name, which now holds the ca, stays out of stats
  expect(JSON.stringify(guard.stats())).not.toContain('BEGIN CERTIFICATE');
});

it('adopts a global agent replaced by another class, and never closes it', async () => {
  let connections = 0;
  class Counting extends https.Agent {
    override createConnection(
      ...args: Parameters<https.Agent['createConnection']>
    ): ReturnType<https.Agent['createConnection']> {
      connections += 1;
      return super.createConnection(...args);
    }
  }
  const server = await serve(startTlsServer(0, (n) => n === 2)); // the 2nd request is reset
  const custom = new Counting({ keepAlive: true, ca: server.ca });
  https.globalAgent = custom;
  const api = axios.create({ baseURL: server.url });
  const guard = attach(api, noWait);
  expect(guard.agents.https).toBe(custom);
  expect(api.defaults.httpsAgent).toBeUndefined(); // Node picks the global agent itself
  await api.get('/one');
  const res = await api.get('/two'); // reset on the reused socket, retried on a new one
  expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['stale-socket']);
  expect(connections).toBe(2);
  const destroy = jest.spyOn(custom, 'destroy');
  guard.detach();
  expect(destroy).not.toHaveBeenCalled();
  expect(Object.values(custom.freeSockets).flat()).toHaveLength(1); // its pool untouched
  expect((await api.get<{ ok: boolean }>('/after')).data.ok).toBe(true);
  destroy.mockRestore();
  custom.destroy();
});

it('adopts Node’s own global agent when a method was patched on it (as cacheable-lookup does)', async () => {
  const server = await serve(startTlsServer(0));
  const patched = new https.Agent({ keepAlive: true });
  let calls = 0;
  const original = patched.createConnection.bind(patched);
  // the patch is what makes TLS work here: it adds the CA
  patched.createConnection = (options: https.RequestOptions, callback: never) => {
    calls += 1;
    return original({ ...options, ca: server.ca }, callback);
  };
  https.globalAgent = patched;
  const api = axios.create({ baseURL: server.url });
  const guard = attach(api, noWait);
  guards.push(guard);
  expect(guard.agents.https).toBe(patched);
  expect((await api.get<{ ok: boolean }>('/guarded')).data.ok).toBe(true);
  expect(calls).toBe(1);
  patched.destroy();
});

it('the same for http: a replaced global agent is adopted, Node’s own is replaced by a keep-alive one', async () => {
  const server = await serve(startHttpServer());
  const custom = new (class extends http.Agent {})({ keepAlive: true });
  http.globalAgent = custom;
  const adopted = attach(axios.create({ baseURL: server.url }), noWait);
  guards.push(adopted);
  expect(adopted.agents.http).toBe(custom);
  http.globalAgent = original.http;
  const own = attach(axios.create({ baseURL: server.url }), noWait);
  guards.push(own);
  expect(own.agents.http).not.toBe(original.http);
  expect(own.agents.http!.constructor.name).not.toBe('Agent');
  custom.destroy();
});
