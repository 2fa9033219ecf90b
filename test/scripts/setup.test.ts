// scripts/setup.sh adds bookworm-backports with the mirror and key the machine already uses for
// Debian bookworm (never a mirror of its own): the source lookup, on deb822 and one-line files.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SETUP = join(import.meta.dirname, '..', '..', 'scripts', 'setup.sh');
let dirs: string[] = [];
afterEach(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  dirs = [];
});

function aptEtc(files: Record<string, string>): string {
  const etc = mkdtempSync(join(tmpdir(), 'apt-etc-'));
  dirs.push(etc);
  mkdirSync(join(etc, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(etc, name), text);
  return etc;
}

function lookup(etc: string) {
  return spawnSync('bash', [SETUP, '--print-bookworm-source'], { env: { ...process.env, APT_ETC: etc }, encoding: 'utf8' });
}

describe('setup.sh bookworm source lookup', () => {
  it('reads URIs and Signed-By from a deb822 .sources file, skipping comments and other suites', () => {
    const etc = aptEtc({
      'sources.list.d/a-backports.sources': 'Types: deb\nURIs: http://other.example/debian\nSuites: bookworm-backports\nComponents: main\n',
      'sources.list.d/debian.sources':
        'Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.internal/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' +
        'Types: deb\nURIs: http://mirror.internal/debian-security\nSuites: bookworm-security\nComponents: main\n',
    });
    const r = lookup(etc);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('http://mirror.internal/debian\t/usr/share/keyrings/debian-archive-keyring.gpg\n');
  });

  it('reads a one-line sources.list entry with [signed-by=…]', () => {
    const etc = aptEtc({ 'sources.list': '# comment\ndeb-src http://x/debian bookworm main\ndeb [arch=amd64 signed-by=/etc/keys/deb.gpg] http://proxy:3142/debian bookworm main contrib\n' });
    expect(lookup(etc).stdout).toBe('http://proxy:3142/debian\t/etc/keys/deb.gpg\n');
    const plain = aptEtc({ 'sources.list': 'deb http://ftp.example/debian bookworm main\n' });
    expect(lookup(plain).stdout).toBe('http://ftp.example/debian\t\n');
  });

  it('finds nothing (exit 1) when the machine has no bookworm source', () => {
    const etc = aptEtc({ 'sources.list': 'deb http://x/debian trixie main\n' });
    const r = lookup(etc);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('the script names no mirror host of its own', () => {
    const text = execFileSync('cat', [SETUP], { encoding: 'utf8' });
    const hosts = [...text.matchAll(/https?:\/\/[^\s'"<>]+/g)].map((m) => m[0]);
    // Only the example inside the "add it yourself" message.
    expect(hosts.filter((h) => !text.includes(`e.g. ${h}`))).toEqual([]);
  });
});
