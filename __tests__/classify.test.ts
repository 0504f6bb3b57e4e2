import { AxiosError, CanceledError } from 'axios';
import { classify } from '../src';

const withCode = (code: string, message = code): AxiosError => new AxiosError(message, code);

describe('classify (synthetic errors)', () => {
  it('returns a frozen classification', () => {
    expect(Object.isFrozen(classify(withCode('ECONNRESET')))).toBe(true);
  });

  it.each([
    ['ECONNRESET', 'read ECONNRESET', 'reset', true],
    ['ECONNRESET', 'socket hang up', 'reset', true],
    ['EPIPE', 'write EPIPE', 'reset', true],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1', 'refused', true],
    ['ECONNABORTED', 'timeout of 10ms exceeded', 'timeout', true],
    ['ETIMEDOUT', 'timeout of 10ms exceeded', 'timeout', true],
    ['ECONNABORTED', 'Request aborted', 'other', false],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND x', 'dns', false],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN x', 'dns', true],
    ['ERR_SOMETHING_NEW', 'who knows', 'other', false],
    [
      'ECONNRESET',
      'Client network socket disconnected before secure TLS connection was established',
      'tls-reset',
      true,
    ],
  ])('%s "%s" → %s (retryable %p)', (code, message, kind, retryable) => {
    expect(classify(withCode(code, message))).toMatchObject({ kind, retryable, code, reusedSocket: false });
  });

  it('follows cause chains (fetch adapter: TypeError: fetch failed → SocketError)', () => {
    const socketError = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const fetchFailed = new TypeError('fetch failed', { cause: socketError });
    const axiosError = AxiosError.from(fetchFailed, 'ERR_NETWORK');
    expect(classify(axiosError)).toMatchObject({ kind: 'reset', code: 'UND_ERR_SOCKET', retryable: true });
    const deep = { message: 'x', cause: { cause: { code: 'ECONNREFUSED' } } };
    expect(classify(deep).kind).toBe('refused');
  });

  it('marks responses as http-status and cancellations as canceled', () => {
    const e = new AxiosError('boom', 'ERR_BAD_RESPONSE', undefined, undefined, {
      status: 503,
      statusText: 'x',
      headers: {},
      config: {} as never,
      data: '',
    });
    expect(classify(e)).toMatchObject({ kind: 'http-status', responseStarted: true, retryable: false });
    expect(classify(new CanceledError()).kind).toBe('canceled');
    expect(classify(undefined).kind).toBe('other');
    expect(classify('string').kind).toBe('other');
  });
});
