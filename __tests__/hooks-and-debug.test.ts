/**
 * The user's hooks (beforeRetry, onGiveUp: their payloads, and what happens when they throw),
 * with nock; then the NODE_DEBUG=axios-reset-guard lines of a real run in a child process
 * (on-call.test.ts has the other lines and the verbose switch).
 */
import axios, { AxiosError, type AxiosInstance } from 'axios';
import nock from 'nock';
import { failureOf, type Guard, type GuardOptions, type RetryInfo } from '../src';
import { failure } from './support/failure';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import { runWithDebug } from './support/user-project';

let instance: AxiosInstance;
let guard: Guard;

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard } = rig(ORIGIN, options, config));
}

describe('with nock', () => {
  useNock(() => guard);

  describe('hooks', () => {
    it('beforeRetry runs before each wait with the planned delay', async () => {
      const calls: RetryInfo[] = [];
      setup({ beforeRetry: (i) => void calls.push(i), baseDelayMs: 1000 });
      nock(ORIGIN).get('/h').replyWithError(reset()).get('/h').reply(200, 'ok');
      await instance.get('/h');
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ attempt: 1, nextAttempt: 2, maxAttempts: 4, delayMs: 500 });
      expect(calls[0]!.classification.kind).toBe('reset');
      expect(axios.isAxiosError(calls[0]!.error)).toBe(true);
    });

    it('an beforeRetry that throws stops the retries and its error propagates', async () => {
      const boom = new Error('hook says stop');
      setup({ beforeRetry: () => Promise.reject(boom) });
      const scope = nock(ORIGIN).get('/h').replyWithError(reset()).get('/h').reply(200);
      await expect(instance.get('/h')).rejects.toBe(boom);
      expect(scope.pendingMocks()).toHaveLength(1);
    });

    it('an onGiveUp that throws replaces the error', async () => {
      setup({
        retries: 0,
        onGiveUp: () => {
          throw new Error('alerted');
        },
      });
      nock(ORIGIN).get('/g').replyWithError(reset());
      await expect(instance.get('/g')).rejects.toThrow('alerted');
    });
  });

  it('an AxiosError thrown by beforeRetry is passed on untouched', async () => {
    const own = new AxiosError('stop here', 'ERR_HOOK');
    const onGiveUp = jest.fn();
    setup({ beforeRetry: () => Promise.reject(own), onGiveUp });
    nock(ORIGIN).get('/h').replyWithError(reset());
    const error = await failure(instance.get('/h'));
    expect(error).toBe(own);
    expect(error.config).toBeUndefined();
    expect(failureOf(error)).toBeUndefined();
    expect(onGiveUp).not.toHaveBeenCalled();
    expect(guard.stats()).toMatchObject({ gaveUp: 0, retries: 0 });
  });
});

describe('NODE_DEBUG=axios-reset-guard', () => {
  it(
    'prints one line per retry decision on a transient failure, with no secret; the 404 is left out',
    async () => {
      const run = await runWithDebug('debug-child.ts', 'axios-reset-guard');
      expect(run.code).toBe(0);
      const { lines } = run;
      // (the 404 that ends the request is printed under NODE_DEBUG=axios-reset-guard-verbose: on-call.test.ts)
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /GET http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/debug attempt 1\/4 failed \(reset ECONNRESET\): retry in \d+ ms, GET is idempotent/,
      );
      expect(run.stderr + run.stdout).not.toMatch(/s3cr3t/);
    },
    WATCHED_TIMEOUT_MS,
  );

  it(
    'URL objects as url or baseURL: retried and answered as strings are, named without their userinfo',
    async () => {
      const run = await runWithDebug('url-shapes-child.ts', 'axios-reset-guard,axios-reset-guard-verbose');
      expect(run.code).toBe(0);
      const outcomes = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; outcome: string });
      expect(outcomes).toEqual([
        { name: 'URL object', outcome: '200 fine' },
        { name: 'URL object with userinfo', outcome: '200 fine' },
        { name: 'URL object as baseURL', outcome: '200 fine' },
        { name: 'string with userinfo', outcome: '200 fine' },
        { name: '404', outcome: 'Request failed with status code 404' },
      ]);
      const { lines } = run;
      expect(
        lines.filter((l) => / attempt 1\/4 failed \((reset|stale-socket) ECONNRESET\): retry in/.test(l)),
      ).toHaveLength(5);
      expect(lines.some((l) => /GET http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/missing .*404/.test(l))).toBe(true);
      expect(run.stderr + run.stdout).not.toMatch(/s3cr3t|TypeError/);
    },
    WATCHED_TIMEOUT_MS,
  );
});
