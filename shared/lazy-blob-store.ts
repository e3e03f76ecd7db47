import type { BlobStore } from './ports.js';

/**
 * A {@link BlobStore} that loads the real one on its first call: the S3 client and presigner are
 * imported only when a task has data outside its item, so no cold start and no small task pays for
 * them. A failed load is tried again on the next call.
 */
export function lazyBlobStore(load: () => Promise<BlobStore>): BlobStore {
  let loading: Promise<BlobStore> | undefined;
  const store = (): Promise<BlobStore> => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
  return {
    put: async (key, body, contentType) => (await store()).put(key, body, contentType),
    get: async (key, options) => (await store()).get(key, options),
    delete: async (keys) => (keys.length === 0 ? undefined : (await store()).delete(keys)),
    presignPut: async (key, options) => (await store()).presignPut(key, options),
    presignGet: async (key, options) => (await store()).presignGet(key, options),
  };
}
