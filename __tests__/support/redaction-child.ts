/**
 * Run by redaction.test.ts under NODE_DEBUG=axios-reset-guard: 503s for a URL holding
 * signed-URL and OAuth query values and embedded userinfo, over HTTP/1.1, then over HTTP/2
 * with TLS and a client key in `http2Options`. Every secret contains "s3cr3t".
 */
import axios from 'axios';
import { attach } from '../../src';
import { startHttpServer, testCertificate } from '../../testbed';
import { startH2Server } from '../../testbed/h2';

async function main(): Promise<void> {
  const http1 = await startHttpServer({ handler: (_req, res) => void res.writeHead(503).end() });
  const h2 = await startH2Server({ tls: true, status: 503 });
  const api = axios.create();
  const guard = attach(api, { retries: 1, sleep: () => Promise.resolve(), redactQuery: ['session'] });
  const query = 'sig=s3cr3t-1&X-Amz-Signature=s3cr3t-2&access_token=s3cr3t-3&session=s3cr3t-4&page=2';
  const embedded = `next=http:/admin:s3cr3t-5@h.test&to=${encodeURIComponent('https://u@s3cr3t-6@h.test/?sig=s3cr3t-7')}`;
  await api.get(`${http1.url}/q?${query}&${embedded}`).catch(() => undefined);
  const { key, cert } = testCertificate();
  await api
    .get(`${h2.url}/h2?token=s3cr3t-8`, {
      httpVersion: 2,
      http2Options: { ca: h2.ca, key, cert, passphrase: 's3cr3t-9' },
    })
    .catch(() => undefined);
  guard.detach();
  await Promise.all([http1.close(), h2.close()]);
}

void main();
