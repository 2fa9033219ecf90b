// Types for serve.mjs (the demo server), so TypeScript callers such as the browser test are checked.
import type { Server } from 'node:http';

export type Route = { path: string; body: string | Uint8Array; type?: string } | { prefix: string; dir: string };
export function staticServer(routes: Route[]): Server;
export function listen(server: Server, port?: number, host?: string): Promise<string>;
export function closeServer(server: Server): Promise<void>;
export function startDemo(opts?: { port?: number; host?: string; writeDist?: boolean }): Promise<{ url: string; close: () => Promise<void> }>;
