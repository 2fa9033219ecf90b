// CLI: downloads the files a model needs from the Hugging Face Hub and prints the local folder.
//   tsx src/cli/weights.ts BAAI/bge-m3 [--dest DIR] [--revision R] [--hub-url URL]
// A progress bar (file, percent, MB/s) goes to stderr; only the folder goes to stdout.

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { downloadModel, type DownloadProgress } from '../io/hub.js';

const USAGE = `usage: tsx src/cli/weights.ts <org/name> [--dest DIR] [--revision R] [--hub-url URL]
Downloads the files the engine needs (config, tokenizer, safetensors weights, heads) into
<dest>/<org>/<name>/ (default dest: ./weights) and prints that folder. Resumes partial downloads.
Environment: HF_TOKEN (private or gated models), HF_ENDPOINT (a Hub mirror).`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Redraw one line in place (true) or print a line per finished file (false). */
  tty: boolean;
  fetch?: typeof fetch;
}

const MB = 1024 * 1024;

/** One progress line: `[2/9] model.safetensors [#####-----]  45.2%  12.3/27.1 MB  8.4 MB/s`. */
export function formatProgress(p: DownloadProgress, bytesPerSec: number): string {
  const frac = p.total > 0 ? p.loaded / p.total : 1;
  const bar = '#'.repeat(Math.round(frac * 20)).padEnd(20, '-');
  const size = p.total >= MB ? `${(p.loaded / MB).toFixed(1)}/${(p.total / MB).toFixed(1)} MB` : `${(p.loaded / 1024).toFixed(1)}/${(p.total / 1024).toFixed(1)} kB`;
  return `[${p.fileIndex + 1}/${p.fileCount}] ${p.file} [${bar}] ${(frac * 100).toFixed(1).padStart(5)}%  ${size}  ${(bytesPerSec / MB).toFixed(1)} MB/s`;
}

/** Runs the CLI; returns the exit code (0 ok, 1 download failed, 2 bad arguments). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.err(`expected exactly one model id\n${USAGE}\n`);
    return 2;
  }
  // Per file: when it started and how many bytes it had then, for the speed; when we last drew.
  let current = '', start = 0, startBytes = 0, lastDraw = 0;
  const onProgress = (p: DownloadProgress) => {
    const now = performance.now();
    if (p.file !== current) {
      current = p.file;
      start = now;
      startBytes = p.loaded;
      lastDraw = io.tty ? 0 : now;
    }
    const done = p.loaded >= p.total;
    // A terminal redraws at most every 0.1 s; a log gets a line per file and one every 10 s.
    if (!done && now - lastDraw < (io.tty ? 100 : 10_000)) return;
    lastDraw = now;
    const secs = (now - start) / 1000;
    const line = formatProgress(p, secs > 0 ? (p.loaded - startBytes) / secs : 0);
    io.err(io.tty ? `\r${line}\x1b[K${done ? '\n' : ''}` : `${line}\n`);
  };
  try {
    const folder = await downloadModel(args.positionals[0]!, {
      dest: args.values.dest,
      revision: args.values.revision,
      hubUrl: args.values['hub-url'],
      onProgress,
      fetch: io.fetch,
    });
    io.out(`${folder}\n`);
    return 0;
  } catch (e) {
    io.err(`${io.tty ? '\n' : ''}error: ${(e as Error).message}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dest: { type: 'string' },
      revision: { type: 'string' },
      'hub-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    tty: process.stderr.isTTY === true,
  }).then((code) => {
    process.exitCode = code;
  });
}
