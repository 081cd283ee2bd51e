import nock from 'nock';
import zapier from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import App from '../src';

export const BASE = 'https://onramp.test';
export const KEY = 'onr_abc123_s3cr3t';

export const appTester = zapier.createAppTester(App);

export { App };

/** A bundle with a valid connection; `extra` is merged in (inputData, meta, ...). */
export const bundle = (extra: Record<string, unknown> = {}): Partial<Bundle> & Record<string, unknown> => ({
  authData: { base_url: `${BASE}/`, api_key: KEY },
  inputData: {},
  ...extra,
});

/** nock scope for the Onramp API that only matches requests carrying the API key. */
export const api = () => nock(BASE).matchHeader('authorization', `Bearer ${KEY}`).matchHeader('accept', 'application/json');

/** Problem+json reply helper. */
export const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  [status, JSON.stringify({ status, ...body }), { 'Content-Type': 'application/problem+json', ...headers }] as const;

/**
 * createAppTester does not emulate z.cursor offline (it calls Zapier's RPC), so
 * dropdown paging tests run the perform through the real middleware with an
 * in-memory cursor store in place of z.cursor.
 */
export const withCursor =
  (perform: (z: ZObject, bundle: Bundle) => unknown, store: { value: string | null; sets: string[] }) => async (z: ZObject, b: Bundle) => {
    z.cursor = {
      get: async () => store.value ?? '',
      set: async (value: string) => {
        store.value = value;
        store.sets.push(value);
        return null;
      },
    };
    return perform(z, b);
  };

/** Runs `promise`, expecting it to reject, and returns the error. */
export const rejection = async (promise: Promise<unknown>): Promise<Error & { name: string }> => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
};

/** ThrottledError / AppError carry a JSON message; decode it. */
export const decoded = (error: Error): Record<string, unknown> => JSON.parse(error.message) as Record<string, unknown>;

export const setupNock = () => {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]);
  });
  afterAll(() => nock.enableNetConnect());
};

export type PerformFn = (z: ZObject, bundle: Bundle) => unknown;

/** The named function of a trigger/create/search's operation, typed for appTester. */
export const method = (definition: { operation: unknown }, name = 'perform'): PerformFn => {
  const value = (definition.operation as Record<string, unknown>)[name];
  if (typeof value !== 'function') throw new Error(`operation.${name} is not a function`);
  return value as PerformFn;
};
