/**
 * The browser, edge and React Native entry (src/browser.ts), in-process: the same names
 * and types as the Node entry, so a module shared by server and client code compiles
 * against either; the Node entry's own classifier, metadata, constants and errors; an
 * inert guard of the same shape (nothing installed on the instance, no retry); and the
 * stand-ins its build uses for the three Node built-ins (src/web-builtins.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { expectTypeOf } from 'expect-type';
import ts from 'typescript';
import * as browser from '../src/browser';
import * as node from '../src/index';
import { channel, debuglog, randomUUID } from '../src/web-builtins';

const SRC = join(__dirname, '..', 'src');
const valueNames = (entry: object): string[] =>
  Object.keys(entry)
    .filter((name) => name !== '__esModule')
    .sort();

describe('the same API as the Node entry', () => {
  test('exactly the same value exports', () => {
    expect(valueNames(browser)).toEqual(valueNames(node));
  });

  test('exactly the same exported names, types included (read by the TypeScript compiler)', () => {
    const files = ['index.ts', 'browser.ts'].map((file) => join(SRC, file));
    const program = ts.createProgram(files, { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 });
    const checker = program.getTypeChecker();
    const [nodeNames, browserNames] = files.map((file) => {
      const source = program.getSourceFile(file);
      const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
      if (symbol === undefined) throw new Error(`no module symbol for ${file}`);
      return checker
        .getExportsOfModule(symbol)
        .map((s) => s.name)
        .sort();
    });
    expect(nodeNames?.length).toBeGreaterThan(30);
    expect(browserNames).toEqual(nodeNames);
  });

  test('the same types for every value (checked by the compiler: npm run typecheck)', () => {
    expectTypeOf(browser.attach).toEqualTypeOf(node.attach);
    expectTypeOf(browser.createClient).toEqualTypeOf(node.createClient);
    expectTypeOf<browser.Guard>().toEqualTypeOf<node.Guard>();
    expectTypeOf<browser.GuardStats>().toEqualTypeOf<node.GuardStats>();
    expectTypeOf<typeof browser>().toEqualTypeOf<typeof node>();
  });

  test('everything but attach and createClient is the Node entry’s own code', () => {
    const shared = valueNames(node).filter((name) => name !== 'attach' && name !== 'createClient');
    expect(shared).toHaveLength(11);
    const same = (name: string): boolean =>
      (browser as Record<string, unknown>)[name] === (node as Record<string, unknown>)[name];
    expect(shared.filter((name) => !same(name))).toEqual([]);
    expect(browser.attach).not.toBe(node.attach);
  });
});

describe('attach: an inert guard of the same shape', () => {
  const requestHandlers = (instance: AxiosInstance): number =>
    (instance.interceptors.request as unknown as { handlers: unknown[] }).handlers.filter((h) => h !== null).length;

  test('stats() has the fields of a Node guard, all at zero or empty', () => {
    const guard = browser.attach(axios.create(), { retries: 2 });
    // Node's own guard before any request, without agents: the same snapshot.
    const reference = node.attach(axios.create(), { agents: false, retries: 2 });
    try {
      expect(guard.stats()).toEqual(reference.stats());
      expect(Object.keys(guard.stats())).toEqual(Object.keys(reference.stats()));
      expect(Object.isFrozen(guard.stats())).toBe(true);
      expect(guard.stats()).not.toBe(guard.stats());
      expect(guard.agents).toEqual({ http: undefined, https: undefined });
      expect(guard.options).toEqual(node.attach(axios.create(), { retries: 2 }).options);
      expect(browser.attach(axios.create(), { expert: { retryBudget: false } }).stats().budget).toBeUndefined();
    } finally {
      reference.detach();
    }
  });

  test('installs nothing: no interceptor, no agent, the instance’s defaults untouched', () => {
    const api = axios.create({ baseURL: 'http://127.0.0.1:1' });
    const before = { handlers: requestHandlers(api), defaults: { ...api.defaults } };
    const guard = browser.attach(api);
    expect(requestHandlers(api)).toBe(before.handlers);
    expect(api.defaults).toEqual(before.defaults);
    expect(api.defaults.httpAgent).toBeUndefined();
    expect(Object.keys(api)).not.toContain('guard');
    guard.detach();
    guard.detach(); // idempotent
    expect(requestHandlers(api)).toBe(before.handlers);
  });

  test('validates options as on Node; one guard per instance, again after detach()', () => {
    expect(() => browser.attach(axios.create(), { retries: -1 })).toThrow(browser.ResetGuardOptionError);
    expect(() => browser.attach(axios.create(), { retires: 2 } as unknown as browser.GuardOptions)).toThrow(/retires/);
    const api = axios.create();
    const guard = browser.attach(api);
    expect(() => browser.attach(api)).toThrow(browser.ResetGuardAttachError);
    // The key is shared with Node's guard: an instance has one guard, whichever entry attached it.
    expect(() => node.attach(api)).toThrow(node.ResetGuardAttachError);
    guard.detach();
    const again = browser.attach(api);
    expect(again).not.toBe(guard);
    guard.detach(); // an old guard's detach leaves the new one in place
    expect(() => browser.attach(api)).toThrow(browser.ResetGuardAttachError);
    again.detach();
  });

  describe('against a server', () => {
    let server: Server;
    let baseURL: string;
    const hits: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        hits.push(req.url ?? '');
        res.statusCode = req.url === '/unavailable' ? 503 : 200;
        res.end(req.url);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    test('no retry, no attempt metadata; classify and failureOf read the error as on Node', async () => {
      const client = browser.createClient({ retries: 3 }, { baseURL });
      expect(client.guard.options.retries).toBe(3);
      expect(Object.keys(client)).not.toContain('guard');
      const ok = await client.get('/ok');
      expect(ok.data).toBe('/ok');
      expect(browser.attemptOf(ok)).toBeUndefined();
      const error: unknown = await client.get('/unavailable').catch((e: unknown) => e);
      expect(browser.classify(error)).toMatchObject({ kind: 'http-status', status: 503, retryable: false });
      expect(browser.failureOf(error)).toBeUndefined();
      expect(hits).toEqual(['/ok', '/unavailable']);
      expect(client.guard.stats().requests).toBe(0);
      client.guard.detach();
    });
  });
});

describe('the stand-ins for Node built-ins in the browser build', () => {
  const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test('randomUUID: Web Crypto’s, or one made from getRandomValues outside secure contexts', () => {
    expect(randomUUID()).toMatch(UUID_V4);
    // An own property hides the prototype's method, as in an insecure context.
    const crypto = globalThis.crypto;
    Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true });
    try {
      const made = Array.from({ length: 200 }, () => randomUUID());
      for (const id of made) expect(id).toMatch(UUID_V4);
      expect(new Set(made).size).toBe(made.length);
    } finally {
      Reflect.deleteProperty(crypto, 'randomUUID');
    }
    expect(typeof globalThis.crypto.randomUUID).toBe('function');
  });

  test('channel: never has subscribers, drops what is published; debuglog: never enabled', () => {
    const c = channel('axios-reset-guard:retry');
    expect(c).toMatchObject({ name: 'axios-reset-guard:retry', hasSubscribers: false });
    expect(c.publish({})).toBeUndefined();
    const debug = debuglog('axios-reset-guard');
    expect(debug.enabled).toBe(false);
    expect(debug('%s', 'x')).toBeUndefined();
  });
});
