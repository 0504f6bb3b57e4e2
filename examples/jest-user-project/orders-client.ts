/**
 * orders-client.ts in your project: a small client for an orders API, with the guard
 * attached. Its test, orders.test.ts next to it, mocks resets with nock.
 */
import axios, { type AxiosInstance } from 'axios';
import { attach, type Guard, type GuardOptions } from 'axios-reset-guard';

export interface Order {
  id: number;
  status: 'pending' | 'paid' | 'shipped';
}

export interface OrdersClient {
  getOrder(id: number): Promise<Order>;
  placeOrder(items: readonly string[]): Promise<Order>;
  /** The underlying instance, for calls that need the whole response. */
  readonly api: AxiosInstance;
  readonly guard: Guard;
}

/** `guardOptions` lets tests skip the backoff waits (`testingOptions()`); production uses the defaults. */
export function createOrdersClient(baseURL: string, guardOptions: GuardOptions = {}): OrdersClient {
  const api = axios.create({ baseURL, timeout: 5_000 });
  const guard = attach(api, guardOptions);
  return {
    api,
    guard,
    getOrder: async (id) => (await api.get<Order>(`/orders/${id}`)).data,
    placeOrder: async (items) => (await api.post<Order>('/orders', { items })).data,
  };
}
