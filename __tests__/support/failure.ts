/** Assertion helper of the jest files: the error a request was expected to reject with. */
import type { AxiosError } from 'axios';

/** The error a request rejected with; fails the test when it resolved. */
export async function failure(promise: Promise<unknown>): Promise<AxiosError> {
  try {
    await promise;
  } catch (error) {
    return error as AxiosError;
  }
  throw new Error('expected the request to fail');
}
