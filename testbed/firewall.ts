/**
 * A real kernel firewall between a client and a server: three network namespaces
 * (`arg-<pid>-<n>-client|fw|server`) joined by two veth pairs, routed through the fw
 * namespace, where nftables filters the forward hook with conntrack:
 *
 *   client 192.0.2.1/24 (eth0) ── (c0) 192.0.2.254  fw  198.51.100.254 (s0) ── (eth0) 198.51.100.1/24 server
 *
 * - `ct state established,related accept`;
 * - `ct state invalid`: `drop` (a black hole) or `reject with tcp reset` (`setInvalidPolicy`);
 * - `ct state new` accepted from client to server only; everything else dropped (policy drop);
 * - `nf_conntrack_tcp_loose=0`: a mid-stream packet of a flow conntrack does not know is
 *   invalid (it is never picked up as a new flow), and a short
 *   `nf_conntrack_tcp_timeout_established`.
 *
 * Only the documentation ranges 192.0.2.0/24 and 198.51.100.0/24 are used, inside the lab's
 * own namespaces (IPv6 is disabled there, so no link-local address either). Nothing changes
 * in the root namespace, except a conntrack sysctl that turns out to be global on the
 * running kernel: its value is saved and restored by `close()`.
 *
 * `close()` kills every process in the lab, deletes the namespaces and restores the global
 * sysctls; it is idempotent, and also runs (synchronously) on process exit and on
 * SIGINT/SIGTERM/SIGHUP. Needs root (CAP_NET_ADMIN), `ip`, `nft`, and `conntrack` or
 * python3 to flush conntrack: `available()` says what is missing.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './proxies';

/** What the fw does with a packet conntrack finds invalid (such as one of a flow it forgot). */
export type InvalidPolicy = 'drop' | 'reset';
/** The lab's namespaces, by role. */
export type LabNamespace = 'client' | 'fw' | 'server';

export const CLIENT_ADDRESS = '192.0.2.1';
export const CLIENT_GATEWAY = '192.0.2.254';
export const SERVER_ADDRESS = '198.51.100.1';
export const SERVER_GATEWAY = '198.51.100.254';

/** The child scripts: a node http server with a POST ledger, and an axios client (plain, guard or control). */
export const SERVER_SCRIPT = join(__dirname, 'firewall', 'server.ts');
export const CLIENT_SCRIPT = join(__dirname, 'firewall', 'client.ts');

export interface FirewallOptions {
  /** `nf_conntrack_tcp_timeout_established` in the fw, in seconds. Default 3. */
  readonly establishedTimeoutS?: number;
  /** What the fw does with invalid packets at first. Default `'reset'`. */
  readonly invalidPolicy?: InvalidPolicy;
  /** Flush with `conntrack -F` (when found) or with one netlink message from python3. Default: `conntrack` if found. */
  readonly flushWith?: 'conntrack' | 'netlink';
}

/** What `flush()` did: the fw's conntrack entries before and after. */
export interface FlushResult {
  readonly method: 'conntrack' | 'netlink';
  readonly before: number;
  readonly after: number;
}

/** Packets through the fw's counted rules since the lab started. */
export interface FirewallCounters {
  /** Packets conntrack found invalid (dropped or answered with a reset). */
  readonly invalid: number;
  /** New flows accepted (client to server). */
  readonly opened: number;
  /** Packets of known flows accepted. */
  readonly established: number;
}

/** One conntrack entry of the fw (the original direction's tuple). */
export interface ConntrackEntry {
  readonly protocol: string;
  /** Seconds left before the entry expires. */
  readonly timeoutS: number;
  readonly state: string;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/** A JSON line a lab process printed on stdout. */
export interface LabMessage {
  readonly event: string;
  readonly [key: string]: unknown;
}

const TABLE = 'lab';
const NAME_PREFIX = 'arg';
const SYSCTL_DIR = '/proc/sys';

// IPCTNL_MSG_CT_DELETE (subsystem NFNL_SUBSYS_CTNETLINK) with no tuple: the kernel deletes
// every entry of the namespace, which is what `conntrack -F` sends. Exits 0 on the kernel's ACK.
const NETLINK_FLUSH = `
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.bind((0, 0))
s.send(struct.pack('=IHHIIBBH', 20, (1 << 8) | 2, 1 | 4, 1, 0, 0, 0, 0))
r = s.recv(4096)
kind = struct.unpack('=H', r[4:6])[0]
err = struct.unpack('=i', r[16:20])[0]
sys.exit(0 if kind == 2 and err == 0 else 1)
`;

let sequence = 0;
let availability: { reason: string | undefined } | undefined;

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Why the lab cannot run here (not root, no `ip`, no `nft`, nothing to flush conntrack with,
 * no network namespace, no nftables/conntrack in one), or `undefined` when it can. Creates
 * and deletes one probe namespace, once per process.
 */
export function available(): string | undefined {
  availability ??= { reason: probe() };
  return availability.reason;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (!isRoot()) return 'not root: network namespaces and nftables need CAP_NET_ADMIN';
  const ip = findBinary('ip');
  if (ip === undefined) return 'the ip binary is missing (apt-get install iproute2)';
  const nft = findBinary('nft');
  if (nft === undefined) return 'the nft binary is missing (apt-get install nftables)';
  if (findBinary('conntrack') === undefined && findBinary('python3') === undefined) {
    return 'nothing to flush conntrack state with: neither conntrack (apt-get install conntrack) nor python3';
  }
  const name = `${NAME_PREFIX}-${process.pid}-probe-${sequence++}`;
  const added = spawnSync(ip, ['netns', 'add', name], { encoding: 'utf8' });
  if (added.status !== 0) return `network namespace creation failed: ${(added.stderr || String(added.error)).trim()}`;
  try {
    const rules = [
      'table inet probe {',
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      '    ct state invalid drop',
      '  }',
      '}',
    ].join('\n');
    const loaded = spawnSync(ip, ['netns', 'exec', name, nft, '-f', '-'], { input: rules, encoding: 'utf8' });
    if (loaded.status !== 0) {
      return `no nftables with conntrack in a network namespace (no netfilter?): ${(loaded.stderr || String(loaded.error)).trim()}`;
    }
    return undefined;
  } finally {
    spawnSync(ip, ['netns', 'del', name]);
  }
}

interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; rejects when it exits non-zero. */
function run(argv: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${argv.join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
    child.stdin.on('error', () => undefined); // a command that exits without reading its input
    child.stdin.end(input ?? '');
  });
}

/** A process started in a lab namespace, talking JSON lines: commands on stdin, messages on stdout. */
export class LabProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited and its pipes are closed. */
  readonly closed: Promise<void>;
  private readonly queue: LabMessage[] = [];
  private readonly waiters: { resolve: (m: LabMessage) => void; reject: (e: Error) => void }[] = [];
  private readonly listeners: ((message: LabMessage) => void)[] = [];
  private buffered = '';
  private errText = '';
  private ended: Error | undefined;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly label: string,
  ) {
    this.pid = child.pid;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.read(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.errText = (this.errText + chunk).slice(-8000);
    });
    child.stdin.on('error', () => undefined); // writes after the process died
    this.closed = new Promise<void>((resolve) => {
      child.on('error', (error) => {
        this.end(new Error(`${label}: ${error.message}`));
        resolve();
      });
      child.on('close', (code, signal) => {
        this.end(new Error(`${label} exited with ${code ?? signal}${this.errText ? `: ${this.errText.trim()}` : ''}`));
        resolve();
      });
    });
  }

  /** What the process wrote on stderr (the last 8000 characters). */
  get stderr(): string {
    return this.errText;
  }

  /** Calls `listener` on every message (e.g. a watchdog's `progress`). */
  onMessage(listener: (message: LabMessage) => void): void {
    this.listeners.push(listener);
  }

  /** The next message; rejects when the process exits first. */
  next(): Promise<LabMessage> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended !== undefined) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The next message, which must be `event` (an `error` message or another event rejects). */
  async expect(event: string): Promise<LabMessage> {
    const message = await this.next();
    if (message.event !== event) {
      throw new Error(`${this.label}: expected a "${event}" message, got ${JSON.stringify(message)}`);
    }
    return message;
  }

  /** Writes one JSON line on the process's stdin. */
  send(command: object): void {
    if (this.ended === undefined) this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** Ends stdin (the lab's scripts exit then), SIGKILL after `graceMs`; resolves on exit. */
  async close(graceMs = 3000): Promise<void> {
    if (this.ended === undefined) this.child.stdin.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill();
        resolve();
      }, graceMs);
    });
    await Promise.race([this.closed, late]);
    clearTimeout(timer);
    await this.closed;
  }

  /** SIGKILL, now. */
  kill(): void {
    if (this.ended === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  private read(chunk: string): void {
    this.buffered += chunk;
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line !== '') this.deliver(parse(line));
      newline = this.buffered.indexOf('\n');
    }
  }

  private deliver(message: LabMessage): void {
    for (const listener of this.listeners) listener(message);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.resolve(message);
    else this.queue.push(message);
  }

  private end(error: Error): void {
    if (this.ended !== undefined) return;
    this.ended = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

function parse(line: string): LabMessage {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string') {
      return value as LabMessage;
    }
  } catch {
    // not JSON: passed on as text
  }
  return { event: 'text', text: line };
}

interface SavedSysctl {
  readonly path: string;
  readonly value: string;
}

/** The running labs, for the exit and signal handlers. */
const open = new Set<FirewallLab>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let hooked = false;

function cleanupAll(): void {
  for (const lab of [...open]) lab.closeSync();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupAll();
  unhook();
  process.kill(process.pid, signal); // the default action (or someone else's handler) now
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', cleanupAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The lab. Made by {@link createFirewallLab}; `close()` it on every path. */
export class FirewallLab {
  /** The namespaces' names, by role. */
  readonly names: Readonly<Record<LabNamespace, string>>;
  /** Which conntrack sysctls turned out to be global (changed in the root namespace too, restored by `close()`). */
  readonly globalSysctls: string[] = [];
  private readonly created: string[] = [];
  private readonly processes = new Set<LabProcess>();
  private readonly saved: SavedSysctl[] = [];
  private policy: InvalidPolicy;
  private closing: Promise<void> | undefined;
  private closedSync = false;

  /** @internal */
  constructor(
    private readonly ip: string,
    private readonly nft: string,
    private readonly conntrack: string | undefined,
    readonly flushMethod: 'conntrack' | 'netlink',
    readonly establishedTimeoutS: number,
    invalidPolicy: InvalidPolicy,
  ) {
    this.policy = invalidPolicy;
    let n = sequence++;
    const namesOf = (i: number) => ({
      client: `${NAME_PREFIX}-${process.pid}-${i}-client`,
      fw: `${NAME_PREFIX}-${process.pid}-${i}-fw`,
      server: `${NAME_PREFIX}-${process.pid}-${i}-server`,
    });
    // a leftover of a killed run whose pid this process now has
    while (Object.values(namesOf(n)).some((name) => existsSync(`/run/netns/${name}`))) n = sequence++;
    this.names = Object.freeze(namesOf(n));
  }

  /** The invalid-packet policy in force. */
  get invalidPolicy(): InvalidPolicy {
    return this.policy;
  }

  /** @internal Builds the lab; on failure the caller closes it. */
  async setUp(): Promise<void> {
    open.add(this);
    hook();
    const { client, fw, server } = this.names;
    for (const name of [client, fw, server]) {
      await run([this.ip, 'netns', 'add', name]);
      this.created.push(name);
      // no IPv6 (no link-local addresses, no router solicitations): only the documentation ranges
      await this.sh(
        name,
        'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do if [ -w "$f" ]; then echo 1 > "$f"; fi; done',
      );
    }
    await this.ipBatch(fw, [
      `link add c0 type veth peer name eth0 netns ${client}`,
      `link add s0 type veth peer name eth0 netns ${server}`,
      `addr add ${CLIENT_GATEWAY}/24 dev c0`,
      `addr add ${SERVER_GATEWAY}/24 dev s0`,
      'link set lo up',
      'link set c0 up',
      'link set s0 up',
    ]);
    await this.ipBatch(client, [
      'link set lo up',
      `addr add ${CLIENT_ADDRESS}/24 dev eth0`,
      'link set eth0 up',
      `route add 198.51.100.0/24 via ${CLIENT_GATEWAY}`,
    ]);
    await this.ipBatch(server, [
      'link set lo up',
      `addr add ${SERVER_ADDRESS}/24 dev eth0`,
      'link set eth0 up',
      `route add 192.0.2.0/24 via ${SERVER_GATEWAY}`,
    ]);
    await this.setSysctl('net.ipv4.ip_forward', '1');
    // the table first: it makes conntrack track the fw namespace (and, on some kernels, shows its sysctls)
    await this.nftScript(
      [
        `table inet ${TABLE} {`,
        '  counter invalid { }',
        '  counter opened { }',
        '  counter established { }',
        '  chain forward { type filter hook forward priority filter; policy drop; }',
        '}',
        ...this.forwardRules(this.policy),
      ].join('\n'),
    );
    await this.setSysctl('net.netfilter.nf_conntrack_tcp_loose', '0');
    await this.setSysctl('net.netfilter.nf_conntrack_tcp_timeout_established', String(this.establishedTimeoutS));
  }

  /** Runs `argv` inside a namespace (`ip netns exec`), talking JSON lines; `close()` ends it. */
  exec(ns: LabNamespace, argv: readonly string[], label = `${ns}:${argv.join(' ')}`): LabProcess {
    if (this.closing !== undefined || this.closedSync) throw new Error('the firewall lab is closed');
    const child = spawn(this.ip, ['netns', 'exec', this.names[ns], ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc = new LabProcess(child, label);
    this.processes.add(proc);
    void proc.closed.then(() => this.processes.delete(proc));
    return proc;
  }

  /** Runs one of the lab's TypeScript scripts with node (ts-node, transpile only) inside a namespace. */
  node(ns: LabNamespace, script: string, args: readonly string[], label?: string): LabProcess {
    const register = require.resolve('ts-node/register/transpile-only');
    return this.exec(ns, [process.execPath, '-r', register, script, ...args], label);
  }

  /** Makes the fw drop invalid packets, or answer TCP ones with a reset. One atomic nft transaction. */
  async setInvalidPolicy(policy: InvalidPolicy): Promise<void> {
    await this.nftScript(this.forwardRules(policy).join('\n'));
    this.policy = policy;
  }

  /**
   * Makes the fw forget every flow: deletes every conntrack entry of its namespace
   * (`conntrack -F`, or the same netlink request from python3). Deleting and re-adding the
   * nft table would not do: conntrack entries outlive the rules that made them.
   */
  async flush(): Promise<FlushResult> {
    const before = await this.conntrackCount();
    if (this.flushMethod === 'conntrack') await this.run('fw', [this.conntrack!, '-F']);
    else await this.run('fw', ['python3', '-c', NETLINK_FLUSH]);
    const after = await this.conntrackCount();
    return { method: this.flushMethod, before, after };
  }

  /** Entries in the fw's conntrack table (`nf_conntrack_count`). */
  async conntrackCount(): Promise<number> {
    const { stdout } = await this.run('fw', ['cat', `${SYSCTL_DIR}/net/netfilter/nf_conntrack_count`]);
    return Number(stdout.trim());
  }

  /** The fw's conntrack entries (`/proc/net/nf_conntrack`, else `conntrack -L`). */
  async entries(): Promise<ConntrackEntry[]> {
    const { stdout } = await this.run('fw', [
      'sh',
      '-c',
      'if [ -r /proc/net/nf_conntrack ]; then cat /proc/net/nf_conntrack; else "$0" -L 2>/dev/null; fi',
      this.conntrack ?? 'conntrack',
    ]);
    return stdout
      .split('\n')
      .map(parseEntry)
      .filter((e): e is ConntrackEntry => e !== undefined);
  }

  /** The fw's packet counters. */
  async counters(): Promise<FirewallCounters> {
    const { stdout } = await this.run('fw', [this.nft, '-j', 'list', 'counters', 'table', 'inet', TABLE]);
    const parsed = JSON.parse(stdout) as { nftables: { counter?: { name: string; packets: number } }[] };
    const of = (name: string): number => parsed.nftables.find((x) => x.counter?.name === name)?.counter?.packets ?? 0;
    return { invalid: of('invalid'), opened: of('opened'), established: of('established') };
  }

  /** Kills the lab's processes, deletes its namespaces, restores global sysctls. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** `close()` for the exit and signal handlers: synchronous, best effort. */
  closeSync(): void {
    if (this.closedSync) return;
    this.closedSync = true;
    for (const proc of this.processes) proc.kill();
    for (const name of [...this.created].reverse()) {
      const pids = spawnSync(this.ip, ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) killQuietly(Number(pid));
      spawnSync(this.ip, ['netns', 'del', name]);
    }
    this.created.length = 0;
    this.restoreSysctls();
    open.delete(this);
    if (open.size === 0) unhook();
  }

  private async shutDown(): Promise<void> {
    const problems: string[] = [];
    await Promise.all([...this.processes].map((proc) => proc.close(2000)));
    for (const name of [...this.created].reverse()) {
      try {
        // anything still inside is one of ours (a grandchild): the namespace is the lab's alone
        const { stdout } = await run([this.ip, 'netns', 'pids', name]);
        for (const pid of stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) killQuietly(Number(pid));
        await run([this.ip, 'netns', 'del', name]);
      } catch (error) {
        problems.push(String(error));
      }
    }
    this.created.length = 0;
    this.restoreSysctls();
    this.closedSync = true;
    open.delete(this);
    if (open.size === 0) unhook();
    if (problems.length > 0) throw new Error(`closing the firewall lab: ${problems.join('; ')}`);
  }

  private restoreSysctls(): void {
    for (const { path, value } of this.saved.splice(0).reverse()) {
      try {
        writeFileSync(path, `${value}\n`);
      } catch {
        // best effort: nothing else to do on this path
      }
    }
  }

  private forwardRules(policy: InvalidPolicy): string[] {
    const rule = (text: string): string => `add rule inet ${TABLE} forward ${text}`;
    const invalid =
      policy === 'reset'
        ? [
            rule('ct state invalid meta l4proto tcp counter name "invalid" reject with tcp reset'),
            rule('ct state invalid counter name "invalid" drop'),
          ]
        : [rule('ct state invalid counter name "invalid" drop')];
    return [
      `flush chain inet ${TABLE} forward`,
      rule('ct state established,related counter name "established" accept'),
      ...invalid,
      rule('iifname "c0" oifname "s0" ct state new counter name "opened" accept'),
    ];
  }

  /**
   * Sets a sysctl in the fw namespace. When the kernel keeps it global (the root namespace's
   * value changed too, or the namespace has no such file), the root's value is saved first and
   * restored by `close()`.
   */
  private async setSysctl(key: string, value: string): Promise<void> {
    const path = `${SYSCTL_DIR}/${key.replace(/\./g, '/')}`;
    const rootBefore = readSysctl(path);
    const { stdout } = await this.run('fw', ['sh', '-c', 'if [ -e "$0" ]; then echo yes; fi', path]);
    if (stdout.trim() !== 'yes') {
      // not per namespace on this kernel: only the root namespace has it
      if (rootBefore === undefined) throw new Error(`no sysctl ${key} on this kernel`);
      this.saved.push({ path, value: rootBefore });
      this.globalSysctls.push(key);
      writeFileSync(path, `${value}\n`);
      return;
    }
    // saved before writing: should the process die right after, the exit handler restores it
    const save = rootBefore === undefined ? undefined : { path, value: rootBefore };
    if (save !== undefined) this.saved.push(save);
    await this.run('fw', ['sh', '-c', 'echo "$1" > "$0"', path, value]);
    const { stdout: now } = await this.run('fw', ['cat', path]);
    if (now.trim() !== value) throw new Error(`sysctl ${key} is ${now.trim()} in the fw, not ${value}`);
    if (save !== undefined) {
      // the root namespace's value changed with the fw's: global, restored by close()
      if (readSysctl(path) !== rootBefore) this.globalSysctls.push(key);
      else this.saved.splice(this.saved.indexOf(save), 1);
    }
  }

  private run(ns: LabNamespace, argv: readonly string[], input?: string): Promise<RunResult> {
    return run([this.ip, 'netns', 'exec', this.names[ns], ...argv], input);
  }

  private sh(name: string, script: string): Promise<RunResult> {
    return run([this.ip, 'netns', 'exec', name, 'sh', '-c', script]);
  }

  private ipBatch(name: string, commands: readonly string[]): Promise<RunResult> {
    return run([this.ip, '-n', name, '-batch', '-'], `${commands.join('\n')}\n`);
  }

  private nftScript(script: string): Promise<RunResult> {
    return this.run('fw', [this.nft, '-f', '-'], `${script}\n`);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** One line of `/proc/net/nf_conntrack` or `conntrack -L`. */
function parseEntry(line: string): ConntrackEntry | undefined {
  const words = line.trim().split(/\s+/);
  const at = words.findIndex((w) => w === 'tcp' || w === 'udp' || w === 'icmp');
  if (at < 0 || words.length < at + 4) return undefined;
  const field = (key: string): string | undefined => words.find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
  const src = field('src');
  const dst = field('dst');
  if (src === undefined || dst === undefined) return undefined;
  const protocol = words[at]!;
  const state = protocol === 'tcp' ? words[at + 3]! : '';
  return {
    protocol,
    timeoutS: Number(words[at + 2]),
    state,
    src,
    dst,
    sport: Number(field('sport') ?? 0),
    dport: Number(field('dport') ?? 0),
  };
}

/**
 * Builds a lab (see the file's comment). Throws with {@link available}'s reason when the
 * machine cannot run it; a lab that fails half-built is closed before the error is thrown.
 */
export async function createFirewallLab(options: FirewallOptions = {}): Promise<FirewallLab> {
  const reason = available();
  if (reason !== undefined) throw new Error(`no firewall lab here: ${reason}`);
  const conntrack = findBinary('conntrack');
  const flushWith = options.flushWith ?? (conntrack !== undefined ? 'conntrack' : 'netlink');
  if (flushWith === 'conntrack' && conntrack === undefined) throw new Error('the conntrack binary is missing');
  const lab = new FirewallLab(
    findBinary('ip')!,
    findBinary('nft')!,
    conntrack,
    flushWith,
    options.establishedTimeoutS ?? 3,
    options.invalidPolicy ?? 'reset',
  );
  try {
    await lab.setUp();
  } catch (error) {
    await lab.close().catch(() => undefined);
    throw error;
  }
  return lab;
}
