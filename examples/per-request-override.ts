/**
 * Instance defaults plus per-request overrides. One client for a payments API; the guard's
 * options set on the instance apply to every call, and any call can override them under
 * the `resetGuard` config key (typed on AxiosRequestConfig once the package is imported):
 *
 * - the health check sends one attempt only (`retries: 0`): it must report what it saw;
 * - creating a payment is a POST, normally never resent after a reset on a fresh
 *   connection, but this server deduplicates on the client's `reference`, so the call
 *   opts in with `retryNonIdempotent: true` (sending an `Idempotency-Key` header does the same);
 * - a receipt POST keeps the default and is not resent;
 * - `beforeRetry` logs each retry; `attemptOf(res)` and `failureOf(err)` tell what happened.
 *
 * Run it: npx ts-node --transpile-only examples/per-request-override.ts
 * (against a stand-in payments server that resets the first request to each path)
 */
import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import { attach, attemptOf, failureOf, type Guard, type RetryInfo } from 'axios-reset-guard';
import { startFlakyUpstream } from './support/flaky-upstream';

export interface Payment {
  id: string;
  reference: string;
  amount: number;
  currency: string;
}

/** What a call returned, and how many attempts it took. */
export interface Outcome<T> {
  value: T;
  attempts: number;
}

/** Why a call failed, as the guard saw it. */
export interface Failure {
  attempts: number;
  kind: string;
  reason: string;
}

export class PaymentsClient {
  readonly api: AxiosInstance;
  readonly guard: Guard;

  constructor(
    baseURL: string,
    private readonly log: (line: string) => void = console.log,
  ) {
    this.api = axios.create({ baseURL, timeout: 5_000 });
    // Instance defaults: up to 3 retries for idempotent requests, and a log line per retry.
    this.guard = attach(this.api, {
      retries: 3,
      beforeRetry: (info) => this.log(describeRetry(info)),
    });
  }

  /** One attempt only: a health check that retried would hide the very resets it should report. */
  async isHealthy(): Promise<{ healthy: true } | ({ healthy: false } & Failure)> {
    try {
      await this.api.get('/health', { resetGuard: { retries: 0 } });
      return { healthy: true };
    } catch (error) {
      return { healthy: false, ...explain(error) };
    }
  }

  /** A GET: instance defaults, retried on resets. */
  async getPayment(id: string): Promise<Outcome<Payment>> {
    const res = await this.api.get<Payment>(`/payments/${encodeURIComponent(id)}`);
    return { value: res.data, attempts: attemptOf(res)?.attempt ?? 1 };
  }

  /**
   * A POST the server deduplicates: it answers a repeated `reference` with the payment it
   * already created, so resending after a reset cannot charge twice. This call opts in to
   * retries and logs them its own way (a per-request `beforeRetry` replaces the instance's).
   */
  async createPayment(amount: number, currency: string): Promise<Outcome<Payment>> {
    const reference = randomUUID(); // made once, sent identically on every attempt
    const res = await this.api.post<Payment>(
      '/payments',
      { reference, amount, currency },
      {
        resetGuard: {
          retryNonIdempotent: true,
          beforeRetry: (info) =>
            this.log(`payment ${reference}: resending (safe, deduplicated); ${describeRetry(info)}`),
        },
      },
    );
    return { value: res.data, attempts: attemptOf(res)?.attempt ?? 1 };
  }

  /**
   * A POST with the defaults: after a reset the guard cannot know whether the server acted
   * on it, so it does not resend (except on a keep-alive socket the server had forgotten).
   */
  async sendReceipt(paymentId: string, email: string): Promise<Outcome<void> | Failure> {
    try {
      const res = await this.api.post(`/payments/${encodeURIComponent(paymentId)}/receipt`, { email });
      return { value: undefined, attempts: attemptOf(res)?.attempt ?? 1 };
    } catch (error) {
      return explain(error);
    }
  }

  /** Destroys the keep-alive agents the guard created. */
  close(): void {
    this.guard.detach();
  }
}

function describeRetry(info: RetryInfo): string {
  const { method, url } = info.config;
  return (
    `${method?.toUpperCase()} ${url}: attempt ${info.attempt}/${info.maxAttempts} failed ` +
    `(${info.classification.kind}, ${info.classification.code ?? 'no code'}), next in ${info.delayMs} ms`
  );
}

/** The guard's verdict on a final error; anything else is rethrown. */
function explain(error: unknown): Failure {
  const failure = failureOf(error);
  if (failure === undefined) throw error;
  return { attempts: failure.attempt.attempt, kind: failure.classification.kind, reason: failure.reason };
}

// ---------------------------------------------------------------------------------------
// Running this file directly: a stand-in payments server that resets the first request
// to each path and deduplicates payments on `reference`.
// ---------------------------------------------------------------------------------------

export async function main(log: (line: string) => void = console.log): Promise<void> {
  const seen = new Set<string>();
  const payments = new Map<string, Payment>();
  const upstream = await startFlakyUpstream({
    reset: (req) => {
      const key = `${req.method} ${req.url}`;
      const first = !seen.has(key);
      seen.add(key);
      return first;
    },
    answer: (req, body) => {
      if (req.method === 'POST' && req.url === '/payments') {
        const input = JSON.parse(body) as Omit<Payment, 'id'>;
        const payment = payments.get(input.reference) ?? { id: `pay_${payments.size + 1}`, ...input };
        payments.set(input.reference, payment);
        return { status: 201, json: payment };
      }
      if (req.url === '/health') return { json: { ok: true } };
      return { json: { id: req.url?.split('/')[2], reference: 'r-1', amount: 10, currency: 'EUR' } };
    },
  });
  const client = new PaymentsClient(upstream.url, log);
  try {
    log(`health: ${JSON.stringify(await client.isHealthy())}`);
    log(`health again: ${JSON.stringify(await client.isHealthy())}`);
    log(`get: ${JSON.stringify(await client.getPayment('pay_7'))}`);
    log(`create: ${JSON.stringify(await client.createPayment(25, 'EUR'))}`);
    log(`payments stored by the server: ${payments.size}`);
    log(`receipt: ${JSON.stringify(await client.sendReceipt('pay_1', 'ada@example.com'))}`);
    log(`stats: ${JSON.stringify(client.guard.stats(), ['requests', 'attempts', 'retries', 'recovered', 'gaveUp'])}`);
  } finally {
    client.close();
    await upstream.close();
  }
}

if (require.main === module) void main();
