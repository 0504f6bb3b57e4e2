/**
 * Calls whose typings changed across the axios releases the package claims (1.7+), typed as
 * the runtime takes them in every one of them, so that the source type-checks against the
 * oldest typings as well as the newest (`__tests__/types-axios-lines.test.ts`).
 */
import {
  CanceledError,
  getAdapter,
  type AxiosAdapter,
  type AxiosRequestConfig,
  type InternalAxiosRequestConfig,
} from 'axios';

/**
 * axios's `getAdapter`. The config (which lets the fetch adapter pick up a custom
 * `env.fetch`) is typed from 1.20 on; 1.19 and older take one argument and ignore a second.
 */
export const adapterFor: (adapters: AxiosRequestConfig['adapter'], config: InternalAxiosRequestConfig) => AxiosAdapter =
  getAdapter;

/**
 * axios's `new CanceledError(message, config)`, its constructor in every release; the typings
 * of 1.16 and older declare AxiosError's `(message, code, config)` for it instead.
 */
export const canceledError = (config: AxiosRequestConfig): CanceledError<unknown> =>
  new (CanceledError as unknown as new (message: undefined, config: AxiosRequestConfig) => CanceledError<unknown>)(
    undefined,
    config,
  );

/** The HTTP/2 options of a config, typed whether or not the installed axios (1.13+) declares them. */
export type Http2Config = InternalAxiosRequestConfig & {
  httpVersion?: number | undefined;
  http2Options?: { sessionTimeout?: number | undefined } | undefined;
};
