/**
 * The testbed's one source of reproducible randomness: the chaos proxy, the demo's fault
 * servers and its clients' jitter all draw from it, so a seed replays their choices.
 */

/**
 * A small, fast, seedable generator of numbers in [0, 1) (the 32-bit "mulberry" mixing
 * steps). The same seed always gives the same sequence.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
