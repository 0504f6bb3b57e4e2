/**
 * Run by keep-alive.test.ts under --expose-gc: 200 guarded instances on one shared agent,
 * dropped without detach(). Prints the agent's 'free' listeners and how many guards are
 * still reachable after garbage collection, as JSON.
 */
import http from 'node:http';
import axios from 'axios';
import { attach, type Guard } from '../../src';

const agent = new http.Agent({ keepAlive: true });
const before = agent.listenerCount('free');

function useAndDrop(): WeakRef<Guard>[] {
  const refs: WeakRef<Guard>[] = [];
  for (let i = 0; i < 200; i += 1) refs.push(new WeakRef(attach(axios.create({ httpAgent: agent }))));
  return refs;
}

async function main(): Promise<void> {
  const refs = useAndDrop();
  const detached = attach(axios.create({ httpAgent: agent }));
  detached.detach();
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 5; i += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  process.stdout.write(JSON.stringify({ before, after: agent.listenerCount('free'), alive }));
  agent.destroy();
}

void main();
