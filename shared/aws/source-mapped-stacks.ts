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
 * then is the map beside the file of a frame read. The maps hold our own sources only
 * (infra/trim-source-map.ts), so frames in dependencies keep their bundle positions.
 *
 * Bundled, `import.meta.url` is the URL of one of the bundle's files: the frames to map are those in
 * files of that directory (index.mjs and its chunks).
 */
const bundleDirectory = new URL('./', import.meta.url).href;
const sourceMaps = new Map<string, SourceMap | null>();

function sourceMapOf(file: string): SourceMap | null {
  let sourceMap = sourceMaps.get(file);
  if (sourceMap === undefined) {
    try {
      sourceMap = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(file)}.map`, 'utf8')));
    } catch {
      // No map (a chunk of dependencies only has none): bundle positions beat failing to format an error.
      sourceMap = null;
    }
    sourceMaps.set(file, sourceMap);
  }
  return sourceMap;
}

/** A frame as V8 prints it, with the bundle position replaced by the TypeScript file and line where known. */
function mapFrame(site: NodeJS.CallSite): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file?.startsWith(bundleDirectory) || line === null || column === null) return text;
  const origin = sourceMapOf(file)?.findOrigin(line, column);
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
