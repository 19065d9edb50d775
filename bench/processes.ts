/**
 * The bench's side of its child processes (the other side is child-process.ts): an app server
 * started and waited for, autocannon and the socket.io load generators run to their one JSON
 * line, the server's handled-requests counter read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load.js';
import type { SocketLoadResult, SocketLoadSpec } from './socket-load.js';
import type { SocketSlice, SocketSlicesSpec } from './socket-slices.js';

export const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
export const log = (line: string) => process.stderr.write(`${line}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface StartedServer {
  child: ChildProcess;
  port: number;
  base: string;
  /** SIGTERM, resolved once the process exited (a server still closing would share the CPU with the next run). */
  stop(): Promise<void>;
}

/**
 * Starts an app server (a compiled bench/*.js) with `env` over the bench's own (NODE_ENV
 * production) and resolves once it printed `{"port": N}`.
 */
export async function startServer(program: string, env: Record<string, string>): Promise<StartedServer> {
  const child = spawn(process.execPath, [here(program)], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await announcedPort(child, `bench server ${program}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // A server that has not closed within 5 s is killed: the bench never waits on it for good.
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      void exited.then(() => clearTimeout(kill));
    }
    return exited;
  };
  return { child, port, base: `http://127.0.0.1:${port}`, stop };
}

/** The port a child app server announces (child-process.ts#announce: one JSON line `{"port": N}`); rejects if it exits first. */
export function announcedPort(child: ChildProcess, name: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code}`)));
  });
}

/** Runs bench/load.js (autocannon) in a process of its own. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here('./load.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with code ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

/** Runs bench/socket-load.js: it connects, says `ready`, and starts when told (after `beforeGo`). */
export function runSocketLoad(spec: SocketLoadSpec, beforeGo: () => Promise<void>): Promise<SocketLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here('./socket-load.js'), JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    let going = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!going && out.includes('ready\n')) {
        going = true;
        void beforeGo().then(() => child.stdin.write('go\n'), reject);
      }
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`socket load generator exited with code ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as SocketLoadResult);
    });
  });
}

/** Runs bench/socket-slices.js: alternating slices of two socket events over one set of sockets. */
export function runSocketSlices(spec: SocketSlicesSpec): Promise<SocketSlice[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here('./socket-slices.js'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`socket slices generator exited with code ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as SocketSlice[]);
    });
  });
}

/** Requests the server handled, and the CPU time it used (µs), since the last call (child-process.ts#countHandled). */
export async function serverSince(base: string): Promise<{ handled: number; cpuUs: number }> {
  const response = await fetch(`${base}/__handled`);
  return (await response.json()) as { handled: number; cpuUs: number };
}

/** Requests the server handled since the last call. */
export async function handledSince(base: string): Promise<number> {
  return (await serverSince(base)).handled;
}
