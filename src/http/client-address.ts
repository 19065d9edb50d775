import { Injectable, Logger, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { HANDSHAKE_MEMO, type SocketRequest } from './contexts/socket-request.js';
import type { HttpRequestLike } from './request.js';

/** Whether the hop at `address`, `i` hops from the app (0: the peer), is a proxy the app trusts. */
type Trust = (address: string, i: number) => boolean;

/** Reads a handshake's client address from its peer address and headers. */
type Resolve = (peer: string, headers: HttpRequestLike['headers']) => string | undefined;

/**
 * The client address of a socket's handshake, resolved by the app's own HTTP platform rules, so
 * that it is what `req.ip` would be for the same request: under `trust proxy` (Express
 * `app.set('trust proxy', ...)`, Fastify `trustProxy`) the first address in `X-Forwarded-For`,
 * read from the right, that is not a trusted proxy; otherwise the peer. HTTP requests carry `ip`
 * already; socket handshakes (socket.io, ws, graphql-ws) only have the TCP peer, which behind a
 * proxy is the proxy.
 */
@Injectable()
export class SessionClientAddress {
  private readonly logger = new Logger('SessionModule');
  /** Fastify's resolver, found on first use (its setting is fixed once the app is built). */
  private fastify: Resolve | null | undefined;

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  /** `request.ip` when the platform set it, else the handshake's client as described above. */
  of(request: HttpRequestLike): string | undefined {
    if (request.ip !== undefined) return request.ip;
    // A socket's handshake: resolved at its first message, kept for the others.
    const memo = (request as SocketRequest)[HANDSHAKE_MEMO];
    if (memo === undefined) return this.resolve(request);
    if (memo.ip === undefined) memo.ip = this.resolve(request) ?? null;
    return memo.ip ?? undefined;
  }

  private resolve(request: HttpRequestLike): string | undefined {
    const peer = request.socket?.remoteAddress;
    if (peer === undefined) return undefined;
    const resolve = this.resolver();
    return resolve ? (resolve(peer, request.headers) ?? peer) : peer;
  }

  private resolver(): Resolve | undefined {
    const instance: unknown = this.adapterHost?.httpAdapter?.getInstance();
    if (typeof instance !== 'function' && (typeof instance !== 'object' || instance === null)) return undefined;
    // Express: its compiled `trust proxy fn`, read each time (an app may set it after the module booted).
    const express = instance as { get?: (name: string) => unknown; settings?: object };
    if (express.settings && typeof express.get === 'function') {
      const trust = express.get('trust proxy fn');
      return typeof trust === 'function' ? (peer, headers) => walk(peer, headers, trust as Trust) : undefined;
    }
    if (this.fastify === undefined) this.fastify = fastifyResolver(instance as object);
    if (this.fastify === null) {
      this.fastify = () => undefined;
      this.logger.warn(
        "Could not read this Fastify version's trustProxy rules: socket handshakes are bound to their TCP peer address " +
          "(behind a proxy, the proxy's). Report it, and keep binding.ip off for sockets behind a proxy.",
      );
    }
    return this.fastify;
  }
}

/** proxy-addr's walk (Express's `req.ip`): [peer, nearest forwarded, ..., farthest], stopping at the first untrusted hop. */
function walk(peer: string, headers: HttpRequestLike['headers'], trust: Trust): string {
  const header = headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  const hops = [
    peer,
    ...forwarded
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .reverse(),
  ];
  for (let i = 0; i < hops.length - 1; i++) if (!trust(hops[i], i)) return hops[i];
  return hops[hops.length - 1];
}

/**
 * Fastify's own `request.ip` getter (its Request class is built for the app's `trustProxy`),
 * called on a stand-in for the handshake; null when this Fastify keeps it elsewhere.
 */
function fastifyResolver(instance: object): Resolve | null {
  const key = Object.getOwnPropertySymbols(instance).find((symbol) => symbol.description === 'fastify.Request');
  const Request = key ? (instance as Record<symbol, unknown>)[key] : undefined;
  const prototype = typeof Request === 'function' ? (Request as { prototype: object }).prototype : undefined;
  if (!prototype || typeof Object.getOwnPropertyDescriptor(prototype, 'ip')?.get !== 'function') return null;
  return (peer, headers) => {
    const socket = { remoteAddress: peer };
    // The getter runs with the stand-in as `this`, as it would with a request Fastify built.
    const ip: unknown = Reflect.get(prototype, 'ip', { raw: { headers, socket, connection: socket }, socket });
    return typeof ip === 'string' ? ip : undefined;
  };
}
