import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CONSOLE_PATHS } from '../../infra/local/ops-console.js';
import { apiUrl } from './api-client.js';

/** A GET with a Host header of our choosing, which fetch does not allow. */
function getWithHost(path: string, host: string): Promise<number> {
  const url = new URL(path, apiUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path: url.pathname, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(Boolean(process.env.API_URL))('the local stack’s console', () => {
  it('refuses a request whose Host is not a loopback name (DNS rebinding)', async () => {
    expect(await getWithHost(CONSOLE_PATHS.state, 'rebound.example.com')).toBe(403);
    expect(await getWithHost(CONSOLE_PATHS.page, `rebound.example.com:${new URL(apiUrl).port}`)).toBe(403);
  });

  it('answers loopback names', async () => {
    expect(await getWithHost(CONSOLE_PATHS.state, `localhost:${new URL(apiUrl).port}`)).toBe(200);
    expect(await getWithHost(CONSOLE_PATHS.state, `127.0.0.1:${new URL(apiUrl).port}`)).toBe(200);
  });
});
