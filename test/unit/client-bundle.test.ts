import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../../client/index.ts', import.meta.url));

describe('the client package entry (`offload`)', () => {
  // esbuild fails a browser build that imports a Node built-in, so a clean build is the check.
  const { metafile, outputFiles } = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(metafile.inputs);

  it('builds for a browser: no Node built-in, no AWS SDK, no Powertools', () => {
    expect(inputs.filter((input) => /@aws-sdk|@smithy|@aws-lambda-powertools|^node:/.test(input))).toEqual([]);
  });

  it('stays small enough for a web page (under 16 KB minified; 5 KB when written)', () => {
    const bytes = outputFiles.reduce((sum, file) => sum + file.contents.length, 0);
    expect(bytes).toBeLessThan(16 * 1024);
  });
});
