import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAMBDA_RUNTIME } from '../../infra/bundling.js';

/** `nodejs24.x` → 24: the major the Lambdas run. */
const lambdaMajor = Number(/^nodejs(\d+)\.x$/.exec(LAMBDA_RUNTIME.name)?.[1]);
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  devDependencies: Record<string, string>;
  devEngines: { runtime: { name: string; version: string } };
};
const majorOf = (version: string) => Number(/(\d+)/.exec(version)?.[1]);

describe('the Node that tests run on is the Node the Lambdas run on', () => {
  it('runs this test process on the Lambda runtime major', () => {
    expect(majorOf(process.versions.node)).toBe(lambdaMajor);
  });

  it('pins the npm package `node` to the Lambda runtime major', () => {
    expect(majorOf(manifest.devDependencies.node ?? '')).toBe(lambdaMajor);
  });

  it('declares the same major in devEngines.runtime', () => {
    expect(manifest.devEngines.runtime.name).toBe('node');
    expect(majorOf(manifest.devEngines.runtime.version)).toBe(lambdaMajor);
  });
});
