import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces that name our TypeScript files and lines, paid for only when a stack is formatted.
 *
 * `--enable-source-maps` parses the whole source map while the bundle loads, on every cold start,
 * whether or not anything ever fails. This module is injected into each Lambda bundle instead
 * (infra/bundling.ts): it installs `Error.prepareStackTrace`, which V8 calls the first time an
 * error's `stack` is read (by Powertools Logger, or by the runtime for an uncaught error), and only
 * then is the map beside the bundle read. The map holds our own sources only (infra/trim-source-map.ts),
 * so frames in dependencies keep their bundle positions.
 *
 * Bundled, `import.meta.url` is the bundle's own URL: frames in that file are the ones to map.
 */
const bundleUrl = import.meta.url;
let sourceMap: SourceMap | null | undefined;

function loadSourceMap(): SourceMap | null {
  try {
    return new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(bundleUrl)}.map`, 'utf8')));
  } catch {
    // No map (or an unreadable one): bundle positions are still better than failing to format an error.
    return null;
  }
}

/** A frame as V8 prints it, with the bundle position replaced by the TypeScript file and line where known. */
function mapFrame(site: NodeJS.CallSite): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (file !== bundleUrl || line === null || column === null) return text;
  sourceMap ??= loadSourceMap();
  const origin = sourceMap?.findOrigin(line, column);
  if (!origin || !('fileName' in origin)) return text;
  return text.replace(`${file}:${line}:${column}`, `${origin.fileName}:${origin.lineNumber}:${origin.columnNumber}`);
}

/** The header V8 writes (`Name: message`), without letting a hostile `toString` break error formatting. */
function header(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return '<error>';
  }
}

Error.prepareStackTrace = (error, sites) =>
  `${header(error)}${sites.map((site) => `\n    at ${mapFrame(site)}`).join('')}`;
