/**
 * The failed attempt's error as the caller would read it. The guard runs inside the adapter,
 * before axios applies `transformResponse`; axios-retry's hooks run after it. So the
 * functions users bring from axios-retry (`retryCondition`, `retryDelay`, `onRetry`,
 * `onMaxRetryTimesExceeded`, `validateResponse`) are handed a copy of the error whose
 * response data went through the config's transforms (a JSON body parsed), made once per
 * error. The real error, with the raw data, goes on to axios, which transforms it once.
 */
import { AxiosHeaders, isAxiosError, type AxiosError, type AxiosResponse } from 'axios';

const views = new WeakMap<AxiosError, AxiosError>();

/** `error` with its response as the caller will read it; `error` itself when it has no response. */
export function callerView<E>(error: E): E {
  if (!isAxiosError(error) || error.response === undefined || error.config === undefined) return error;
  const cached = views.get(error);
  if (cached !== undefined) return cached as E;
  const response = transformed(error.response);
  if (response === error.response) return error;
  const view = Object.create(
    Object.getPrototypeOf(error) as object,
    Object.getOwnPropertyDescriptors(error),
  ) as AxiosError;
  view.response = response;
  views.set(error, view);
  return view as E;
}

/** The response with its data through `config.transformResponse`; the raw data is left as it was. */
export function transformed(response: AxiosResponse): AxiosResponse {
  const config = response.config;
  const transforms = config?.transformResponse;
  const list = Array.isArray(transforms) ? transforms : transforms === undefined ? [] : [transforms];
  if (list.length === 0) return response;
  const headers = AxiosHeaders.from(response.headers as AxiosHeaders).normalize(false);
  // A transform may work in place (a Buffer swapped): it gets a copy, axios the original.
  let data: unknown = copyOfBytes(response.data);
  for (const transform of list) data = transform.call(config, data, headers, response.status);
  return { ...response, data };
}

function copyOfBytes(data: unknown): unknown {
  if (typeof Buffer !== 'undefined' && Buffer.isBuffer(data)) return Buffer.from(data);
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (data instanceof DataView)
    return new DataView(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (ArrayBuffer.isView(data)) return (data as Uint8Array).slice();
  return data;
}
