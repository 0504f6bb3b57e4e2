/**
 * Headless Chromium (Debian's `chromium` package) driven over the Chrome DevTools
 * Protocol on `--remote-debugging-pipe`: no dependency, no port. The browser reads
 * NUL-terminated JSON commands on its fd 3 and writes replies and events on its fd 4.
 *
 * It runs in its own process group with a fresh profile in a temp dir; `close()` asks it
 * to quit (`Browser.close`), SIGKILLs the group if it has not exited after a grace time,
 * and removes the profile. Call `close()` on every path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { findBinary } from './proxies';

/** Flags for a quiet headless run on a CI machine (root, no GPU, no network of its own). */
export const CHROMIUM_FLAGS: readonly string[] = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-dev-shm-usage',
  '--remote-debugging-pipe',
]);

/** `chromium` in PATH or /usr/bin (Debian's package); `undefined` if missing. */
export function findChromium(): string | undefined {
  return findBinary('chromium') ?? findBinary('chromium-browser');
}

interface Reply {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: unknown;
  error?: { message: string; code?: number };
}

type Listener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

/** A page opened by {@link Chromium.open}. */
export interface ChromiumPage {
  /** The CDP session of the page's target. */
  readonly sessionId: string;
  /**
   * Evaluates `expression` in the page and waits for its promise, if it gives one;
   * returns the value as JSON. A thrown exception rejects, with its text and stack.
   */
  evaluate<T>(expression: string): Promise<T>;
  /** `console.*` lines and uncaught exceptions of the page so far. */
  readonly log: readonly string[];
}

export interface Chromium {
  readonly pid: number;
  /** Opens a new tab on `url`, resolving once its `load` event fired. */
  open(url: string): Promise<ChromiumPage>;
  /** The browser's stderr, last 32 KB (for failure messages). */
  output(): string;
  /** Quits the browser, kills its process group if it lingers, removes the profile. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts Chromium; `progress()` is called for every protocol message and every chunk of
 * its output, so a watchdog can tell a slow browser from a stuck one.
 */
export function launchChromium(binary: string, progress: () => void = () => undefined): Chromium {
  const profile = mkdtempSync(join(tmpdir(), 'arg-chromium-'));
  const child: ChildProcess = spawn(binary, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    // its own process group: a SIGKILL reaches the renderer and GPU processes too
    detached: true,
  });
  const commands = child.stdio[3] as Writable;
  const messages = child.stdio[4] as Readable;
  let output = '';
  // Chromium complains of the missing D-Bus at every start: noise in a failure message.
  const noise = /^.*ERROR:dbus\/.*\n?/gm;
  const collect = (chunk: Buffer): void => {
    progress();
    output = (output + chunk.toString('utf8').replace(noise, '')).slice(-32_768);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // Should this process end without close(), the browser goes with it.
  const killGroup = (): void => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // not started, or the whole group is gone
    }
  };
  process.once('exit', killGroup);
  let exitError: Error | undefined;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Set<{ method: string; listener: Listener }>();
  const failAll = (error: Error): void => {
    exitError ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  child.once('error', (error) => failAll(new Error(`chromium did not start: ${error.message}`)));
  child.once('exit', (code, signal) =>
    failAll(new Error(`chromium exited (${signal ?? `code ${code}`}) before answering:\n${output}`)),
  );
  // Writes to a browser that just died fail with EPIPE: the exit is reported instead.
  commands.on('error', () => undefined);
  messages.on('error', () => undefined);

  let buffered = '';
  messages.on('data', (chunk: Buffer) => {
    progress();
    buffered += chunk.toString('utf8');
    let end: number;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const reply = JSON.parse(buffered.slice(0, end)) as Reply;
      buffered = buffered.slice(end + 1);
      if (reply.id !== undefined) {
        const waiter = pending.get(reply.id);
        pending.delete(reply.id);
        if (reply.error !== undefined) waiter?.reject(new Error(`CDP: ${reply.error.message}`));
        else waiter?.resolve(reply.result);
      } else if (reply.method !== undefined) {
        for (const { method, listener } of listeners) {
          if (method === reply.method) listener(reply.params ?? {}, reply.sessionId);
        }
      }
    }
  });

  let nextId = 0;
  const send = <T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> => {
    if (exitError !== undefined) return Promise.reject(exitError);
    const id = (nextId += 1);
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      commands.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  };
  const once = (method: string, sessionId: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const entry = {
        method,
        listener: (params: Record<string, unknown>, from: string | undefined) => {
          if (from !== sessionId) return;
          listeners.delete(entry);
          resolve(params);
        },
      };
      listeners.add(entry);
      void exited.then(() => {
        listeners.delete(entry);
        reject(exitError ?? new Error('chromium exited'));
      });
    });

  const open = async (url: string): Promise<ChromiumPage> => {
    const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const log: string[] = [];
    listeners.add({
      method: 'Runtime.consoleAPICalled',
      listener: (params, from) => {
        if (from !== sessionId) return;
        const args = (params.args as { value?: unknown; description?: string }[] | undefined) ?? [];
        log.push(
          `console.${String(params.type)}: ${args.map((a) => a.description ?? JSON.stringify(a.value)).join(' ')}`,
        );
      },
    });
    listeners.add({
      method: 'Runtime.exceptionThrown',
      listener: (params, from) => {
        if (from !== sessionId) return;
        const details = params.exceptionDetails as { text?: string; exception?: { description?: string } };
        log.push(`uncaught: ${details.exception?.description ?? details.text ?? '?'}`);
      },
    });
    await send('Runtime.enable', {}, sessionId);
    await send('Page.enable', {}, sessionId);
    const loaded = once('Page.loadEventFired', sessionId);
    const navigation = await send<{ errorText?: string }>('Page.navigate', { url }, sessionId);
    if (navigation.errorText) throw new Error(`navigation to ${url} failed: ${navigation.errorText}`);
    await loaded;
    return {
      sessionId,
      log,
      evaluate: async <T>(expression: string): Promise<T> => {
        const reply = await send<{
          result: { value?: unknown };
          exceptionDetails?: { text?: string; exception?: { description?: string } };
        }>('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
        if (reply.exceptionDetails !== undefined) {
          const { text, exception } = reply.exceptionDetails;
          throw new Error(`page threw: ${exception?.description ?? text ?? '?'}\n${log.join('\n')}`);
        }
        return reply.result.value as T;
      },
    };
  };

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5000): Promise<void> =>
    (closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && exitError === undefined) {
        send('Browser.close').catch(() => undefined);
      }
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
      if ((await Promise.race([exited, late])) === 'late') {
        killGroup();
        child.kill('SIGKILL');
        await exited;
      }
      clearTimeout(timer);
      commands.destroy();
      messages.destroy();
      // Its renderer and GPU processes share the group: none may outlive the test.
      killGroup();
      process.removeListener('exit', killGroup);
      rmSync(profile, { recursive: true, force: true });
    })());

  return { pid: child.pid as number, open, output: () => output, close: () => close() };
}
