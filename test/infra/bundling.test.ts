import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { constructPathsByLogicalId, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

/** Well under Lambda's limits; a bundle this large would mean a dependency crept in by accident. */
const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

describe('Lambda bundles (esbuild)', { timeout: 120_000 }, () => {
  const { stack, template, outdir } = synthOffloadStack({ bundle: true });
  const paths = constructPathsByLogicalId(stack);
  const functions = Object.entries(template.findResources('AWS::Lambda::Function')).map(([logicalId, fn]) => ({
    path: paths.get(logicalId),
    assetDir: join(outdir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`),
  }));

  it("builds one asset per kind of function: every lane's worker runs the same bundle", () => {
    expect(functions.map(({ path }) => path).sort()).toEqual([
      'Callbacks/Function',
      'DeadLetterHandler/Function',
      'Lane-long/TaskWorker/Function',
      'RecoverySweep/Function',
      'TaskApi/Function',
      'TaskScheduler/Function',
      'TaskWorker/Function',
    ]);
    const assetOf = (path: string) => functions.find((fn) => fn.path === path)?.assetDir;
    expect(assetOf('Lane-long/TaskWorker/Function')).toBe(assetOf('TaskWorker/Function'));
    expect(new Set(functions.map(({ assetDir }) => assetDir)).size).toBe(functions.length - 1);
  });

  it.each(functions)('builds $path as an ESM bundle under 2 MB, with a source map', ({ path, assetDir }) => {
    const bundle = statSync(join(assetDir, 'index.mjs')).size;
    const sourceMap = statSync(join(assetDir, 'index.mjs.map')).size;
    console.log(
      `${path}: index.mjs ${(bundle / 1024).toFixed(1)} KB, index.mjs.map ${(sourceMap / 1024).toFixed(1)} KB`,
    );
    expect(bundle).toBeLessThan(MAX_BUNDLE_BYTES);
  });
});
