/** The three clients the demo compares, each with its own connection pool. */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import axiosRetry from 'axios-retry';
import { HttpsAgent } from 'agentkeepalive';
import { attach } from '../src';
import { sleep } from '../src/sleep';
import { testingOptions } from '../src/testing';
import { seededRandom } from '../testbed';

export const CLIENTS = ['plain axios', 'axios + axios-retry', 'axios + reset-guard'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface Client {
  readonly api: AxiosInstance;
  /** Attempts sent beyond one per request. */
  readonly extraAttempts: () => number;
  readonly close: () => void;
}

/** Node 20's own global agent settings, one pool per client so runs do not share sockets. */
function nodeDefaultAgents(ca: string | undefined): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const options = { keepAlive: true, scheduling: 'lifo' as const, timeout: 5000 };
  return { httpAgent: new http.Agent(options), httpsAgent: new https.Agent({ ...options, ...(ca ? { ca } : {}) }) };
}

/**
 * `http2`: every request with `httpVersion: 2` (h2c here). axios keeps its HTTP/2 sessions
 * in one pool per process, keyed by authority: each client talks to its own server, so
 * they share none.
 */
export function makeClient(name: ClientName, baseURL: string, ca: string | undefined, http2 = false): Client {
  const version = http2 ? { httpVersion: 2 as const } : {};
  if (name === 'axios + reset-guard') {
    // The guard installs its own agents; only the TLS scenario needs one that trusts the test CA.
    const httpsAgent = ca ? new HttpsAgent({ keepAlive: true, freeSocketTimeout: 4000, timeout: 0, ca }) : undefined;
    const api = axios.create({ baseURL, ...version, ...(httpsAgent ? { httpsAgent } : {}) });
    // Defaults, except a seeded jitter source so runs are reproducible (real waits).
    const guard = attach(api, testingOptions({}, { random: seededRandom(42), sleep }));
    return {
      api,
      extraAttempts: () => guard.stats().retries,
      close: () => {
        guard.detach();
        httpsAgent?.destroy();
      },
    };
  }
  const agents = nodeDefaultAgents(ca);
  const api = axios.create({ baseURL, ...version, ...agents });
  let retries = 0;
  if (name === 'axios + axios-retry') {
    // As axios-retry's README recommends.
    axiosRetry(api, {
      retries: 3,
      retryDelay: (count, error) => axiosRetry.exponentialDelay(count, error),
      onRetry: () => void (retries += 1),
    });
  }
  return {
    api,
    extraAttempts: () => retries,
    close: () => {
      agents.httpAgent.destroy();
      agents.httpsAgent.destroy();
    },
  };
}
