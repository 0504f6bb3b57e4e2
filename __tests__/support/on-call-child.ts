/**
 * Run by on-call.test.ts under NODE_DEBUG: a request recovered after a reset, an idle limit
 * learned behind a firewall that forgets idle connections (and the idle peer purged), a
 * retry budget exhausted then restored, and a plain 404. Real sockets on 127.0.0.1.
 */
import axios from 'axios';
import { attach } from '../../src';
import { testingOptions } from '../../src/testing';
import { pause, startHttpServer, startIdleDropProxy } from '../../testbed';

const noWait = testingOptions({}, { random: () => 0 });

async function main(): Promise<void> {
  // a reset, then the answer; then a 404 (the application's own answer)
  const flaky = await startHttpServer({
    resetWhen: (_req, n) => n === 1,
    handler: (req, res) => res.writeHead(req.url === '/missing' ? 404 : 200).end('ok'),
  });
  const api = axios.create({ baseURL: flaky.url, headers: { Authorization: 'Bearer s3cr3t-token' } });
  const guard = attach(api, noWait);
  await api.get('/recover');
  await api.get('/missing').catch(() => undefined);

  // two pooled sockets idle 700 ms behind a firewall that forgets after 300 ms
  const origin = await startHttpServer({ keepAliveTimeout: 60_000 });
  const firewall = await startIdleDropProxy(origin.port, 300);
  const behind = axios.create({ baseURL: firewall.url });
  const learning = attach(behind, noWait);
  await Promise.all([behind.get('/a'), behind.get('/b')]);
  await pause(700);
  await behind.get('/c');

  // a bucket of 10 tokens, 5 per retry: the third failure of a request finds it empty
  let down = true;
  const outage = await startHttpServer({ resetWhen: () => down });
  const storm = axios.create({ baseURL: outage.url });
  const budgeted = attach(storm, { ...noWait, expert: { retryBudget: { capacity: 10, retryCost: 5 } } });
  await storm.get('/down').catch(() => undefined);
  down = false;
  for (let i = 0; i < 5; i += 1) await storm.get(`/up/${i}`);

  for (const g of [guard, learning, budgeted]) g.detach();
  await Promise.all([flaky.close(), firewall.close(), origin.close(), outage.close()]);
}

void main();
