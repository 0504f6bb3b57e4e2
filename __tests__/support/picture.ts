/**
 * Headless Chromium for the tests that look at a picture: a screenshot of a file, the DOM
 * a page leaves after its scripts ran, and a PNG decoder (node:zlib, no dependency) to
 * read the screenshot's pixels.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { findBinary } from '../../testbed';

/** Debian's `chromium` (what `.ci/run` installs), or another Chromium/Chrome on PATH. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const binary = findBinary(name);
    if (binary !== undefined) return binary;
  }
  return undefined;
}

// Offline and quiet: no network of its own, no first-run work, no GPU.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  '--force-device-scale-factor=1',
];

/**
 * Runs Chromium once with a fresh profile (removed afterwards) and resolves with its
 * stdout once it exited. `backstopMs` only ends a Chromium that hangs; it is no limit on a
 * slow machine's normal run.
 */
export async function runChromium(binary: string, args: readonly string[], backstopMs = 5 * 60_000): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'arg-chromium-'));
  try {
    const child = spawn(binary, [...FLAGS, `--user-data-dir=${profile}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: the backstop ends the renderer and GPU processes too
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const backstop = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, backstopMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    }).finally(() => clearTimeout(backstop));
    if (code !== 0) throw new Error(`chromium exited with ${String(code)}: ${stderr.slice(-2000)}`);
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A screenshot of `file` in a `width` x `height` window, written to `png`. */
export async function screenshot(
  binary: string,
  file: string,
  png: string,
  width: number,
  height: number,
): Promise<void> {
  await runChromium(binary, [`--screenshot=${png}`, `--window-size=${width},${height}`, pathToFileURL(file).href]);
}

/** The DOM of `file` once loaded and its scripts ran, serialized. */
export function dumpDom(binary: string, file: string): Promise<string> {
  return runChromium(binary, ['--dump-dom', pathToFileURL(file).href]);
}

export interface Png {
  readonly width: number;
  readonly height: number;
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  readonly channels: number;
  /** Unfiltered rows, `width * channels` bytes each, top to bottom. */
  readonly pixels: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes). */
export function decodePng(file: Buffer): Png {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < file.length;) {
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    const data = file.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) {
        throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colour}, interlace ${interlace}`);
      }
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length; // length, type, data, CRC
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y === 0 ? Buffer.alloc(stride) : pixels.subarray((y - 1) * stride, y * stride);
    for (let x = 0; x < stride; x += 1) {
      const a = x >= channels ? out[x - channels]! : 0; // left
      const b = up[x]!; // above
      const c = x >= channels ? up[x - channels]! : 0; // above left
      const byte = line[x]!;
      let value: number;
      if (filter === 0) value = byte;
      else if (filter === 1) value = byte + a;
      else if (filter === 2) value = byte + b;
      else if (filter === 3) value = byte + ((a + b) >> 1);
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        value = byte + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new Error(`unknown PNG filter ${String(filter)} on row ${y}`);
      out[x] = value & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** How many pixels are `[r, g, b]`, give or take `tolerance` on each channel. */
export function countPixels(png: Png, rgb: readonly [number, number, number], tolerance = 0): number {
  let n = 0;
  for (let i = 0; i < png.pixels.length; i += png.channels) {
    if (
      Math.abs(png.pixels[i]! - rgb[0]) <= tolerance &&
      Math.abs(png.pixels[i + 1]! - rgb[1]) <= tolerance &&
      Math.abs(png.pixels[i + 2]! - rgb[2]) <= tolerance
    ) {
      n += 1;
    }
  }
  return n;
}
