import { backoffDelay, sleep } from '../src/internals';

describe('backoffDelay (pure, injected random)', () => {
  const opts = { baseDelayMs: 200, maxDelayMs: 1000 };

  it('doubles the ceiling per retry and caps it', () => {
    const ceilings = [1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts, () => 1));
    expect(ceilings).toEqual([200, 400, 800, 1000, 1000]);
  });

  it('draws full jitter between 0 and the ceiling', () => {
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(400);
    expect(backoffDelay(2, opts, () => 0.25)).toBe(100);
  });

  it('survives absurd inputs without NaN or Infinity', () => {
    expect(backoffDelay(5000, opts, () => 1)).toBe(1000);
    expect(backoffDelay(0, opts, () => 1)).toBe(200);
    expect(backoffDelay(2, opts, () => Number.NaN)).toBe(400);
    expect(backoffDelay(2, opts, () => 7)).toBe(400);
    expect(backoffDelay(2, opts, () => -3)).toBe(0);
  });
});

describe('sleep (AbortSignal-aware)', () => {
  it('resolves after the delay', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it('rejects at once with the reason when already aborted', async () => {
    const reason = new Error('stop');
    await expect(sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('rejects when aborted mid-wait and removes its listener when the timer fires', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort(new Error('abort'));
    await expect(pending).rejects.toThrow('abort');

    const other = new AbortController();
    const remove = jest.spyOn(other.signal, 'removeEventListener');
    await sleep(1, other.signal);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });
});
