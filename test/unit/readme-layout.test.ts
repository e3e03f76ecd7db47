import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

/** The folders the README's "Layout" block names, as written there (`functions/api/`). */
function layoutFolders(): Set<string> {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const section = readme.slice(readme.indexOf('## Layout'));
  const block = section.slice(section.indexOf('```') + 3, section.indexOf('```', section.indexOf('```') + 3));
  return new Set(
    block
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter((name) => name.endsWith('/')),
  );
}

/**
 * The repo's folders as git tracks them: top-level folders, and for the big ones (functions, shared,
 * infra, test) their subfolders, since those are what a reader looks for.
 */
function trackedFolders(): Set<string> {
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  const folders = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    if (parts.length < 2) continue;
    const deep = ['functions', 'shared', 'infra', 'test'].includes(parts[0] ?? '') && parts.length > 2;
    folders.add(deep ? `${parts[0]}/${parts[1]}/` : `${parts[0]}/`);
  }
  // functions/ and test/ hold only subfolders, each listed; shared/ and infra/ hold files of their own too.
  folders.delete('functions/');
  folders.delete('test/');
  return folders;
}

describe('the README layout', () => {
  it('names every folder of the repo, and no folder that is gone', () => {
    const named = layoutFolders();
    const tracked = trackedFolders();

    expect([...tracked].filter((folder) => !named.has(folder)).sort()).toEqual([]);
    expect([...named].filter((folder) => !tracked.has(folder) && !folder.startsWith('bench/')).sort()).toEqual([]);
  });
});
