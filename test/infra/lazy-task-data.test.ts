import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleLambda } from '../../infra/bundling.js';
import { demoTaskModule } from '../../infra/lambda-entry.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** The inputs of the files an import of index.mjs loads: it and the chunks it imports statically. */
function inputsLoadedAtInit(metafile: Metafile): string[] {
  const entry = Object.keys(metafile.outputs).find((path) => path.endsWith('/index.mjs'));
  const seen = new Set<string>();
  const pending = entry ? [entry] : [];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imported of metafile.outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) pending.push(imported.path);
    }
  }
  return [...seen].flatMap((path) => Object.keys(metafile.outputs[path]?.inputs ?? {}));
}

describe('the S3 SDK in the bundles', { timeout: 120_000 }, () => {
  it.each(['api', 'worker', 'callbacks'])(
    'is bundled into the %s function but loaded only when task data is used',
    (name) => {
      const outdir = mkdtempSync(join(tmpdir(), 'offload-lazy-s3-'));
      outdirs.push(outdir);
      const metafile = bundleLambda(
        { kind: name as 'api' | 'worker' | 'callbacks', taskModule: demoTaskModule() },
        outdir,
      );

      const isS3 = (input: string) => /@aws-sdk\/(client-s3|s3-request-presigner)\//.test(input);
      expect(Object.keys(metafile.inputs).some(isS3)).toBe(true);
      expect(inputsLoadedAtInit(metafile).filter(isS3)).toEqual([]);
    },
  );
});
