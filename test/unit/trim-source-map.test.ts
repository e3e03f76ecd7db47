import { SourceMap } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodeMappings,
  encodeMappings,
  projectSource,
  type RawSourceMap,
  trimSourceMap,
} from '../../infra/trim-source-map.js';

describe('source map mappings (Base64 VLQ)', () => {
  it.each([
    ['one segment', 'AAAA', [[[0, 0, 0, 0]]]],
    ['a multi-digit field', 'AAgBC', [[[0, 0, 16, 1]]]],
    [
      'fields relative to the previous segment',
      'AAAA,EAAE',
      [
        [
          [0, 0, 0, 0],
          [2, 0, 0, 2],
        ],
      ],
    ],
    ['columns restarting on each line, the rest carrying on', 'EAAE;;EAAE', [[[2, 0, 0, 2]], [], [[2, 0, 0, 4]]]],
    [
      'negative deltas and names',
      'KAAMA,DAAFC',
      [
        [
          [5, 0, 0, 6, 0],
          [4, 0, 0, 4, 1],
        ],
      ],
    ],
    ['a segment without a source', 'AAAA,G', [[[0, 0, 0, 0], [3]]]],
  ])('decodes and re-encodes %s', (_case, mappings, segments) => {
    expect(decodeMappings(mappings)).toEqual(segments);
    expect(encodeMappings(segments)).toBe(mappings);
  });
});

describe('trimSourceMap', () => {
  // One minified line: our handler, a dependency, our handler again, the dependency again.
  const map: RawSourceMap = {
    version: 3,
    sources: ['../src/handler.ts', '../node_modules/dep/index.js'],
    names: ['handle', 'depFunction'],
    mappings: encodeMappings([
      [
        [0, 0, 4, 2, 0],
        [10, 1, 99, 0, 1],
        [20, 1, 100, 0],
        [30, 0, 7, 4],
        [40, 1, 120, 0],
      ],
    ]),
  };
  const trimmed = new SourceMap(
    trimSourceMap(map, (source) => (source.includes('node_modules') ? undefined : 'src/handler.ts')) as never,
  );

  it.each([
    ['at the start of our code', 0, { originalSource: 'src/handler.ts', originalLine: 4, name: 'handle' }],
    ['inside our code', 5, { originalSource: 'src/handler.ts', originalLine: 4 }],
    ['later in our code', 35, { originalSource: 'src/handler.ts', originalLine: 7 }],
  ])('keeps positions %s', (_case, column, expected) => {
    expect(trimmed.findEntry(0, column)).toMatchObject(expected);
  });

  it.each([
    ['at the start of a dependency', 10],
    ['deep in a dependency, past a second segment of it', 25],
    ['in a dependency after our code', 45],
  ])('leaves positions %s unmapped, not pinned to our preceding code', (_case, column) => {
    expect(trimmed.findEntry(0, column)).not.toHaveProperty('originalSource', expect.any(String));
  });

  it('keeps only the sources and names still referred to', () => {
    const result = trimSourceMap(map, (source) => (source.includes('node_modules') ? undefined : 'src/handler.ts'));
    expect(result.sources).toEqual(['src/handler.ts']);
    expect(result.names).toEqual(['handle']);
  });
});

describe('projectSource', () => {
  const rename = projectSource('/build/asset.1/index.mjs.map', '/repo');

  it.each([
    ['a file of ours, named from the project root', '../../repo/functions/api/routes.ts', 'functions/api/routes.ts'],
    ['a dependency', '../../repo/node_modules/zod/v4/core/core.js', undefined],
    ['a file outside the project', '../../elsewhere/x.ts', undefined],
  ])('names %s', (_case, source, expected) => {
    expect(rename(source)).toBe(expected);
  });

  it("names a task module's files from its own project, and offload's from the installed package", () => {
    const installed = projectSource('/build/asset.1/index.mjs.map', ['/app/node_modules/offload', '/app']);
    expect(installed('../../app/node_modules/offload/dist/functions/worker/run-task.js')).toBe(
      'dist/functions/worker/run-task.js',
    );
    expect(installed('../../app/src/tasks.ts')).toBe('src/tasks.ts');
    expect(installed('../../app/node_modules/sharp/lib/index.js')).toBeUndefined();
  });
});
