import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../infra/local/ops-console.js';

describe('the local console’s Host check', () => {
  it.each([
    'localhost',
    'localhost:3000',
    'LOCALHOST:3000',
    '127.0.0.1',
    '127.0.0.1:3000',
    '127.1.2.3:80',
    '[::1]',
    '[::1]:3000',
  ])('accepts %s', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    undefined,
    '',
    'evil.example',
    'evil.example:3000',
    'localhost.evil.example',
    '127.0.0.1.evil.example',
    '127.0.0.1.nip.io:3000',
    '0.0.0.0:3000',
    '192.168.1.10:3000',
    '[::2]:3000',
    '[::ffff:127.0.0.1]',
    'localhost:3000:1',
  ])('refuses %s: a rebound DNS name or another interface', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
