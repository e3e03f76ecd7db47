import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapping } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces that name our functions, TypeScript files and lines, paid for only when a stack is formatted.
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
const generatedLines = new Map<string, string[]>();

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

/** A line of the bundle file itself, read (once per file) only to find a function's minified name. */
function generatedLine(file: string, line: number): string {
  let lines = generatedLines.get(file);
  if (lines === undefined) {
    lines = readFileSync(fileURLToPath(file), 'utf8').split('\n');
    generatedLines.set(file, lines);
  }
  return lines[line - 1] ?? '';
}

/**
 * The original name of a minified function, as the source map knows it: the name mapped on the
 * function's own name where it is declared (`function a(`, `async function a(`, `a = async () =>`), or
 * else the one mapped where its caller, in the same file, calls it.
 */
function originalName(
  sourceMap: SourceMap,
  file: string,
  site: NodeJS.CallSite,
  caller: NodeJS.CallSite | undefined,
): string {
  // Only a mapping exactly there: the nearest one before may name something else. (The types leave out
  // `name`, which Node sets when the mapping has one.)
  const nameAt = (line: number | null | undefined, column: number | null | undefined) => {
    if (!line || !column) return '';
    const entry = sourceMap.findEntry(line - 1, column - 1) as Partial<SourceMapping> & { name?: string };
    return entry.generatedLine === line - 1 && entry.generatedColumn === column - 1 ? (entry.name ?? '') : '';
  };
  const line = site.getEnclosingLineNumber();
  const column = site.getEnclosingColumnNumber();
  if (line && column) {
    const text = generatedLine(file, line);
    const declaration = /(?:async\s*)?function\s*\*?\s*/y;
    declaration.lastIndex = column - 1;
    // `const a = async () =>`: the function starts after the name it is assigned to.
    const assigned = /([\w$]+)\s*=\s*$/.exec(text.slice(0, column - 1));
    const own = declaration.test(text)
      ? nameAt(line, declaration.lastIndex + 1)
      : assigned
        ? nameAt(line, assigned.index + 1)
        : '';
    if (own) return own;
  }
  if (caller?.getFileName() !== file) return '';
  return nameAt(caller.getLineNumber(), caller.getColumnNumber());
}

/** A frame as V8 prints it, with the bundle position replaced by the TypeScript file and line where known. */
function mapFrame(site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file?.startsWith(bundleDirectory) || line === null || column === null) return text;
  const sourceMap = sourceMapOf(file);
  const origin = sourceMap?.findOrigin(line, column);
  if (!sourceMap || !origin || !('fileName' in origin)) return text;
  const mapped = text.replace(
    `${file}:${line}:${column}`,
    `${origin.fileName}:${origin.lineNumber}:${origin.columnNumber}`,
  );
  // Only a plain call (`name (`, `async name (`): a method's name is not minified, its class's is not known.
  const minified = site.getFunctionName();
  const name = minified ? originalName(sourceMap, file, site, caller) : '';
  if (!minified || !name || name === minified) return mapped;
  const plain = new RegExp(`^((?:async |new )?)${minified.replaceAll('$', '\\$')} \\(`);
  return mapped.replace(plain, (_match, prefix: string) => `${prefix}${name} (`);
}

/** The header V8 writes (`Name: message`), without letting a hostile `toString` break error formatting. */
function header(error: unknown): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return '<error>';
  }
}

/** Never throws: whoever reads `stack` (a logger, the runtime) must get one. */
function frame(site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string {
  try {
    return mapFrame(site, caller);
  } catch {
    return String(site);
  }
}

Error.prepareStackTrace = (error, sites) =>
  `${header(error)}${sites.map((site, index) => `\n    at ${frame(site, sites[index + 1])}`).join('')}`;
