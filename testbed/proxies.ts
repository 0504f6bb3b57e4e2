/**
 * Real reverse proxies (nginx, HAProxy) as foreground child processes on 127.0.0.1, in
 * front of a local server. Each gets its own temp dir for config, pid, logs and buffers,
 * so they run as root or not, next to any system-wide install, and leave nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, type Closeable } from './net';

export type ProxyName = 'nginx' | 'haproxy';

export interface ProxyProcess extends Closeable {
  readonly name: ProxyName;
  readonly pid: number;
  /** The proxy's temp dir (config, logs); removed by `close()`. */
  readonly dir: string;
  /** What the process wrote to stdout/stderr so far, plus its error log when it has one. */
  output(): string;
}

export interface ProxyOptions {
  /** nginx `keepalive_timeout` / HAProxy `timeout http-keep-alive`, e.g. `1s`. */
  keepAliveTimeout?: string;
  /** nginx only: the second `keepalive_timeout` parameter, sent as `Keep-Alive: timeout=N`. */
  keepAliveHeaderTimeout?: string;
}

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The binary's absolute path, looked up in PATH and the sbin dirs (not in a non-root PATH). */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * The start of a testbed nginx config, up to inside `http {`: one foreground worker whose
 * pid, logs and temp files stay in `dir`.
 */
export function nginxPrologue(dir: string, comment: string): string {
  return `# written by the axios-reset-guard testbed${comment}
daemon off;
master_process on;
worker_processes 1;
${
  // As root, nginx would switch its worker to nobody, which cannot enter this 0700 temp
  // dir; keep it root (loopback only, for a test). As non-root the directive is ignored with
  // a warning, so it is left out.
  isRoot() ? 'user root;' : ''
}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;`;
}

function nginxConfig(dir: string, port: number, upstream: number, options: ProxyOptions): string {
  const keepalive = [options.keepAliveTimeout ?? '1s', options.keepAliveHeaderTimeout].filter(Boolean).join(' ');
  return `${nginxPrologue(dir, '')}
  keepalive_timeout ${keepalive};
  upstream node {
    server 127.0.0.1:${upstream};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://node;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function haproxyConfig(port: number, upstream: number, options: ProxyOptions): string {
  return `# written by the axios-reset-guard testbed
global
  maxconn 256

defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout http-request 5s
  timeout http-keep-alive ${options.keepAliveTimeout ?? '1s'}

frontend front
  bind 127.0.0.1:${port}
  default_backend node

backend node
  server node1 127.0.0.1:${upstream}
`;
}

/** Resolves once `port` accepts a TCP connection; rejects after `ms` or when `child` exits. */
async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the process exited');
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** SIGTERM, then SIGKILL (to the whole process group: nginx's worker too) after `graceMs`; awaits the exit. */
async function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  if ((await Promise.race([exited, killed])) === 'late') {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
  }
  clearTimeout(timer);
}

export async function launch(
  name: ProxyName,
  binary: string,
  write: (dir: string, port: number) => string[],
): Promise<ProxyProcess> {
  let lastError: unknown;
  // The port is free when picked, but another process may take it before the proxy binds:
  // then the proxy exits at once, and a new port is tried.
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const dir = mkdtempSync(join(tmpdir(), `arg-${name}-`));
    const port = await freePort();
    const args = write(dir, port);
    let output = '';
    // its own process group, so a SIGKILL reaches nginx's worker as well
    const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const collect = (chunk: Buffer): void => {
      if (output.length < 64_000) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const spawnError = new Promise<never>((_resolve, reject) => child.once('error', reject));
    spawnError.catch(() => undefined);
    const readLog = (): string => {
      try {
        return readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    };
    try {
      await Promise.race([waitForPort(port, child, 10_000), spawnError]);
      let closed = false;
      return {
        name,
        pid: child.pid as number,
        dir,
        port,
        url: `http://127.0.0.1:${port}`,
        output: () => output + readLog(),
        close: async () => {
          if (closed) return;
          closed = true;
          await stop(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = new Error(`${name} did not start (${String(error)}): ${output}${readLog()}`);
      await stop(child, 1000);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

/** nginx in the foreground (`daemon off`), `worker_processes 1`, upstream keep-alive to `upstreamPort`. */
export function startNginx(binary: string, upstreamPort: number, options: ProxyOptions = {}): Promise<ProxyProcess> {
  return launch('nginx', binary, (dir, port) => {
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(dir, port, upstreamPort, options));
    // -e: the log used before the config is read (the built-in /var/log/nginx may be unwritable)
    return ['-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log')];
  });
}

/** HAProxy in the foreground (`-db`), mode http, `timeout http-keep-alive` as given (1s). */
export function startHaproxy(binary: string, upstreamPort: number, options: ProxyOptions = {}): Promise<ProxyProcess> {
  return launch('haproxy', binary, (dir, port) => {
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(port, upstreamPort, options));
    return ['-f', cfg, '-db'];
  });
}
