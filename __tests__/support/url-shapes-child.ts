/**
 * Run by hooks-and-debug.test.ts under NODE_DEBUG: each `url` shape axios sends (strings,
 * URL objects, a URL object as baseURL) through a server that resets every other request,
 * then through a 404. Prints one JSON line per request: its outcome.
 */
import axios from 'axios';
import { attach } from '../../src';
import { testingOptions } from '../../src/testing';
import { startHttpServer } from '../../testbed';

async function main(): Promise<void> {
  const server = await startHttpServer({
    resetWhen: (_req, n) => n % 2 === 1,
    handler: (req, res) => res.writeHead(req.url === '/missing' ? 404 : 200).end('fine'),
  });
  const secret = server.url.replace('http://', 'http://me:s3cr3t-pass@');
  const shapes: Record<string, { url?: unknown; baseURL?: unknown }> = {
    'URL object': { url: new URL(`${server.url}/shape`) },
    'URL object with userinfo': { url: new URL(`${secret}/shape`) },
    'URL object as baseURL': { baseURL: new URL(`${secret}/shape`) },
    'string with userinfo': { url: `${secret}/shape` },
  };
  const api = axios.create();
  const guard = attach(api, testingOptions());
  for (const [name, shape] of Object.entries(shapes)) {
    const outcome = await api.request(shape as never).then(
      (r) => `${r.status} ${String(r.data)}`,
      (e: Error) => `${e.name} ${e.message}`,
    );
    process.stdout.write(`${JSON.stringify({ name, outcome })}\n`);
  }
  // Not transient: a 404 (reset once first), printed under the verbose section.
  const missing = await api.request({ url: new URL(`${secret}/missing`) } as never).catch((e: Error) => e.message);
  process.stdout.write(`${JSON.stringify({ name: '404', outcome: missing })}\n`);
  guard.detach();
  await server.close();
}

void main();
