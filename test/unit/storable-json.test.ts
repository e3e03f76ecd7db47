import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkStorableJson, MAX_PAYLOAD_DEPTH } from '../../shared/storable-json.js';

const Storable = z.unknown().superRefine(checkStorableJson);
const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
const issuesOf = (value: unknown) => Storable.safeParse(value).error?.issues ?? [];

describe('checkStorableJson', () => {
  it.each([
    ['scalars', 'text'],
    ['the largest exact integers', [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]],
    ['the smallest storable magnitude', 1e-130],
    ['zero and fractions', { a: 0, b: -0, c: 0.1 }],
    [`${MAX_PAYLOAD_DEPTH} levels of nesting`, nested(MAX_PAYLOAD_DEPTH)],
  ])('accepts %s', (_case, value) => {
    expect(issuesOf(value)).toEqual([]);
  });

  it.each([
    ['an integer beyond 2^53 - 1', { a: [1, 2 ** 53] }, ['a', 1]],
    ['a huge double', { n: 1e300 }, ['n']],
    ['a magnitude below 1e-130', { n: -1e-131 }, ['n']],
    [`${MAX_PAYLOAD_DEPTH + 1} levels of nesting`, nested(MAX_PAYLOAD_DEPTH + 1), Array(MAX_PAYLOAD_DEPTH).fill(0)],
  ])('refuses %s, naming where it is', (_case, value, path) => {
    expect(issuesOf(value).map((issue) => issue.path)).toEqual([path]);
  });

  it('survives nesting far beyond any stack, and reports at most ten problems', () => {
    expect(issuesOf(nested(200_000))).toHaveLength(1);
    expect(issuesOf(Array(1000).fill(1e300))).toHaveLength(10);
  });
});
