/** Run by hooks-and-debug.test.ts under NODE_DEBUG=axios-reset-guard: a reset, then a 404. */
import axios from 'axios';
import { attach } from '../../src';
import { testingOptions } from '../../src/testing';
import { startHttpServer } from '../../testbed';

async function main(): Promise<void> {
  const server = await startHttpServer({
    resetFirst: 1,
    handler: (_req, res) => res.writeHead(404).end(),
  });
  const api = axios.create({
    headers: { Authorization: 'Bearer s3cr3t-token', Cookie: 'id=s3cr3t-cookie' },
  });
  const guard = attach(api, testingOptions());
  // Leading whitespace: axios still sends it with basic auth (the WHATWG parser drops it).
  await api.get(` ${server.url.replace('http://', 'http://me:s3cr3t-pass@')}/debug`).catch(() => undefined);
  guard.detach();
  await server.close();
}

void main();
