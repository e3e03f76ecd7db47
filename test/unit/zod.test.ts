import { describe, expect, it } from 'vitest';
// Nothing here may import classic `zod`: it would load the English messages itself and hide their absence.
import * as z from '../../shared/zod.js';

describe('shared/zod', () => {
  it.each([
    ['a wrong type', z.object({ ms: z.number() }), { ms: 'x' }, 'Invalid input: expected number, received string'],
    ['a number too large', z.int().check(z.maximum(900)), 901, 'Too big: expected number to be <=900'],
    ['an unknown key', z.strictObject({}), { extra: 1 }, 'Unrecognized key: "extra"'],
  ])('explains %s in English, as the API reports it in details', (_case, schema, value, message) => {
    expect(z.safeParse(schema, value).error?.issues[0]?.message).toBe(message);
  });
});
