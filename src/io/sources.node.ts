// Model files in a local folder (Node only). Ranges are read with positioned reads on an open
// file handle, so reading a tensor or a header never loads the whole checkpoint.

import { statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { ModelFileError } from './errors.js';
import { checkName, checkRange, notFoundError, withText, type ModelFiles } from './sources.js';

/** Files under `dir`. A missing folder, or a path that is not a folder, throws at once. */
export function folderFiles(dir: string): ModelFiles {
  const root = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new ModelFileError(`model folder ${root} does not exist (pass the folder that holds config.json and the weights)`, root);
  }
  if (!isDir) throw new ModelFileError(`${root} is not a folder (pass the folder that holds config.json and the weights)`, root);
  const origin = root;
  const pathOf = (name: string) => root + sep + checkName(name, origin).split('/').join(sep);
  const hint = 'check the folder holds a complete copy of the model';

  async function sizeOf(name: string): Promise<number> {
    const p = pathOf(name);
    let st;
    try {
      st = await stat(p);
    } catch {
      throw notFoundError(name, origin, hint);
    }
    if (!st.isFile()) throw new ModelFileError(`${name} in ${origin} is not a regular file`, name);
    return st.size;
  }

  return withText({
    origin,
    async has(name) {
      try {
        return (await stat(pathOf(name))).isFile();
      } catch {
        return false;
      }
    },
    size: sizeOf,
    async read(name, start, end) {
      const p = pathOf(name);
      if (start === undefined && end === undefined) {
        await sizeOf(name);
        try {
          const buf = await readFile(p);
          return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        } catch (err) {
          throw new ModelFileError(`could not read ${name} in ${origin}: ${(err as Error).message}`, name);
        }
      }
      let fh;
      try {
        fh = await open(p, 'r');
      } catch {
        throw notFoundError(name, origin, hint);
      }
      try {
        const size = (await fh.stat()).size;
        const [s, e] = checkRange(name, origin, size, start, end);
        const out = new Uint8Array(e - s);
        let done = 0;
        while (done < out.length) {
          const { bytesRead } = await fh.read(out, done, Math.min(out.length - done, 1 << 30), s + done);
          if (bytesRead === 0) throw new ModelFileError(`${name} in ${origin} ended early while reading bytes [${s}, ${e})`, name);
          done += bytesRead;
        }
        return out;
      } finally {
        await fh.close();
      }
    },
  });
}
