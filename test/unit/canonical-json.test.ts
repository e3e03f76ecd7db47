import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';

describe('canonicalJson', () => {
  it.each([
    { case: 'top-level keys', a: { b: 1, a: 2 }, b: { a: 2, b: 1 }, expected: '{"a":2,"b":1}' },
    {
      case: 'nested keys',
      a: { outer: { z: 1, y: { q: 1, p: 2 } } },
      b: { outer: { y: { p: 2, q: 1 }, z: 1 } },
      expected: '{"outer":{"y":{"p":2,"q":1},"z":1}}',
    },
    {
      case: 'keys of objects inside arrays',
      a: [{ b: 1, a: 2 }],
      b: [{ a: 2, b: 1 }],
      expected: '[{"a":2,"b":1}]',
    },
  ])('gives the same text whatever the order of $case', ({ a, b, expected }) => {
    expect(canonicalJson(a)).toBe(expected);
    expect(canonicalJson(b)).toBe(expected);
  });

  it('keeps the order of array elements', () => {
    expect(canonicalJson({ list: [3, 1, 2] })).toBe('{"list":[3,1,2]}');
    expect(canonicalJson([3, 1, 2])).not.toBe(canonicalJson([1, 2, 3]));
  });

  it('sorts keys by code unit, not by locale', () => {
    expect(canonicalJson({ b: 1, a: 1, B: 1, _: 1, é: 1, '10': 1, '9': 1 })).toBe(
      '{"9":1,"10":1,"B":1,"_":1,"a":1,"b":1,"é":1}',
    );
  });

  it.each([
    { value: null, expected: 'null' },
    { value: 'text', expected: '"text"' },
    { value: 1.5, expected: '1.5' },
    { value: { a: null, b: undefined }, expected: '{"a":null}' },
  ])('serializes $expected like JSON.stringify', ({ value, expected }) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('keeps a "__proto__" key parsed from JSON as data', () => {
    const parsed = JSON.parse('{"z":1,"__proto__":{"polluted":true}}');

    expect(canonicalJson(parsed)).toBe('{"__proto__":{"polluted":true},"z":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('sha256Hex', () => {
  it('is the hex SHA-256 of the text', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes reordered objects alike and different values apart', () => {
    const hash = (value: unknown) => sha256Hex(canonicalJson(value));

    expect(hash({ a: 1, b: [1, 2] })).toBe(hash({ b: [1, 2], a: 1 }));
    expect(hash({ a: 1, b: [1, 2] })).not.toBe(hash({ a: 1, b: [2, 1] }));
    expect(hash({ a: 1 })).not.toBe(hash({ a: '1' }));
  });
});
