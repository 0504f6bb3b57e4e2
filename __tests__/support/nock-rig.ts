/** Shared set-up of the nock test files: a guarded instance whose waits are recorded, not slept. */
import axios, { type AxiosInstance } from 'axios';
import nock from 'nock';
import { attach, type Guard, type GuardOptions } from '../../src';
import { testingOptions } from '../../src/testing';

/** The origin the nock files mock. */
export const ORIGIN = 'http://api.test';

/** A connection reset as nock replays it (nock 14 hangs on a plain-object `replyWithError({ code })`). */
export const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

export interface Rig {
  readonly instance: AxiosInstance;
  readonly guard: Guard;
  /** Every wait the guard asked for, in ms. */
  readonly sleeps: number[];
}

/**
 * A guarded `axios.create({ baseURL: origin, ...config })` with jitter fixed at 0.5 and waits
 * recorded, not slept; `options` made by `testingOptions(..., seams)` bring their own seams.
 */
export function rig(origin: string, options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): Rig {
  const sleeps: number[] = [];
  const instance = axios.create({ baseURL: origin, ...config });
  const seams = testingOptions(
    {},
    {
      random: () => 0.5,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
  );
  const guard = attach(instance, { ...seams, ...options });
  return { instance, guard, sleeps };
}

/**
 * Blocks real network for the file, detaches `current()` and clears mocks after each test,
 * and un-patches node:http at the end (real-socket files may run later in this process).
 */
export function useNock(current: () => Guard | undefined): void {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    current()?.detach();
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
    nock.restore();
  });
}
