import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Loads a module of fauxqs by its file under `dist/` (the package exports only its entry point, which
 * exports only `buildApp`): its stores, actions and S3 persistence, which the local stack builds on.
 */
export async function loadFauxqsModule<T>(file: string): Promise<T> {
  const require = createRequire(import.meta.url);
  const root = (require.resolve.paths('fauxqs') ?? [])
    .map((modules) => join(modules, 'fauxqs'))
    .find((candidate) => existsSync(join(candidate, 'package.json')));
  if (!root) throw new Error('fauxqs is not installed');
  return (await import(pathToFileURL(join(root, 'dist', ...file.split('/'))).href)) as T;
}

/** The parts of fauxqs's S3 store and its file persistence the local stack uses (fauxqs/dist/s3/). */
interface FauxqsS3Store {
  persistence?: unknown;
}
interface FauxqsFileS3Persistence {
  loadS3(store: FauxqsS3Store): void;
}

/**
 * An S3 store whose buckets and objects live as files under `dir` (fauxqs's FileS3Persistence), loaded
 * from there: a local stack started again on the same data keeps its task data, as it keeps its table.
 */
export async function persistentS3Store(dir: string): Promise<object> {
  const [{ S3Store }, { FileS3Persistence }] = await Promise.all([
    loadFauxqsModule<{ S3Store: new () => FauxqsS3Store }>('s3/s3Store.js'),
    loadFauxqsModule<{ FileS3Persistence: new (dir: string) => FauxqsFileS3Persistence }>('s3/fileS3Persistence.js'),
  ]);
  const store = new S3Store();
  const persistence = new FileS3Persistence(dir);
  // Loaded before the persistence is attached, as fauxqs's own server does: loading must not write back.
  persistence.loadS3(store);
  store.persistence = persistence;
  return store;
}
