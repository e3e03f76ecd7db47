import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  bareHostname,
  type CallbackUrlPolicy,
  isPublicAddress,
  parseCallbackUrl,
  type ResolveHost,
  resolvePublicAddresses,
  resolveWithDns,
} from './callback-url.js';
import type { CallbackRequest, CallbackResponse, CallbackSender } from './ports.js';

export interface HttpCallbackSenderOptions extends CallbackUrlPolicy {
  /** The whole request, connection to response headers and the read of the body, ends after this. */
  readonly timeoutMs: number;
  /** Bytes of the response body read at most; the connection is dropped after them. */
  readonly maxResponseBytes: number;
  /** @default dns.lookup with all addresses */
  readonly resolve?: ResolveHost;
}

/**
 * POSTs callbacks with node:http(s). The host is resolved by a `lookup` of ours that refuses the
 * connection unless every address is public, and hands the socket the very address it checked: a name
 * rebound to 127.0.0.1 after submission is refused here, at the connection. IP literals never reach a
 * lookup, so they are checked before. Redirects are not followed (a 3xx is an answer like any other),
 * and at most `maxResponseBytes` of the body are read.
 */
export class HttpCallbackSender implements CallbackSender {
  readonly #agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  readonly #lookup: LookupFunction;

  constructor(private readonly options: HttpCallbackSenderOptions) {
    const resolve = options.resolve ?? resolveWithDns;
    this.#lookup = (hostname, lookupOptions, callback) => {
      resolvePublicAddresses(hostname, options, resolve).then(
        (addresses) => {
          if (lookupOptions.all) return callback(null, [...addresses]);
          const chosen = addresses.find((a) => !lookupOptions.family || a.family === lookupOptions.family);
          if (!chosen)
            return callback(Object.assign(new Error('No address of the family asked for'), { code: 'ENOTFOUND' }), '');
          callback(null, chosen.address, chosen.family);
        },
        (error: Error) => callback(Object.assign(error, { code: 'ECALLBACKADDRESS' }), ''),
      );
    };
  }

  async send(request: CallbackRequest): Promise<CallbackResponse> {
    let url: URL;
    try {
      url = parseCallbackUrl(request.url, this.options);
    } catch (error) {
      return { kind: 'error', reason: `refused: ${(error as Error).message}` };
    }
    const host = bareHostname(url);
    if (!this.options.allowLocal && isIP(host) !== 0 && !isPublicAddress(host)) {
      return { kind: 'error', reason: 'refused: the address is not public' };
    }
    return this.#post(url, request);
  }

  /** Stops the keep-alive sockets (tests, the end of a local stack). */
  close(): void {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }

  #post(url: URL, request: CallbackRequest): Promise<CallbackResponse> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      let settled = false;
      let statusCode: number | undefined;
      const settle = (response: CallbackResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(response);
      };
      const req = transport.request(
        url,
        {
          method: 'POST',
          headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
          agent: this.#agents[url.protocol as 'http:' | 'https:'],
          lookup: this.#lookup,
        },
        (res) => {
          const answered = { kind: 'response', statusCode: res.statusCode ?? 0 } as const;
          statusCode = answered.statusCode;
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read >= this.options.maxResponseBytes) {
              res.destroy();
              settle(answered);
            }
          });
          res.on('end', () => settle(answered));
          res.on('error', () => settle(answered));
          res.on('close', () => settle(answered));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        // Headers that came in time are the answer, even if the body did not.
        settle(
          statusCode === undefined
            ? { kind: 'error', reason: `no answer within ${this.options.timeoutMs} ms` }
            : { kind: 'response', statusCode },
        );
      }, this.options.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) =>
        settle({
          kind: 'error',
          reason: error.code === 'ECALLBACKADDRESS' ? `refused: ${error.message}` : (error.code ?? error.message),
        }),
      );
      req.end(request.body);
    });
  }
}
