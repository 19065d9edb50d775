/** The parts of a socket the gate uses: socket.io's per-socket middleware, ws's pause/resume. */
interface GatedSocket {
  /** socket.io: middleware run on every incoming packet before its handler. */
  use?: (fn: (packet: unknown, next: (err?: Error) => void) => void) => unknown;
  handshake?: unknown;
  /** ws: stop and start emitting incoming messages. */
  pause?: () => void;
  resume?: () => void;
  removeAllListeners?: (event: string) => unknown;
}

/** What happens to the messages a socket sent while its handshake was being authenticated. */
export interface MessageGate {
  /** The handshake was accepted: the held messages go to their handlers, in order, and later ones straight through. */
  release(): void;
  /** The handshake was refused: the held messages (and any later ones) never reach a handler. */
  discard(): void;
}

const NO_GATE: MessageGate = { release: () => undefined, discard: () => undefined };

/**
 * Holds a socket's incoming messages until its handshake's authentication settles. Nest binds a
 * gateway's message handlers right after it calls `handleConnection`, without waiting for it, so
 * an unguarded handler would otherwise run for messages sent while `authenticate` still waits
 * for Redis, even from a socket it is about to refuse. Call it before the first `await`.
 * - socket.io: a per-socket middleware (`socket.use`) parks each packet until then;
 * - ws: the socket is paused (its data stays in the TCP buffer) until then.
 */
export function holdMessages(client: object): MessageGate {
  const socket = client as GatedSocket;
  if (typeof socket.use === 'function' && socket.handshake !== undefined) {
    let state: 'held' | 'open' | 'dropped' = 'held';
    const held: Array<() => void> = [];
    socket.use((_packet, next) => {
      if (state === 'open') next();
      else if (state === 'held') held.push(next);
    });
    return {
      release() {
        state = 'open';
        for (const next of held.splice(0)) next();
      },
      discard() {
        state = 'dropped';
        held.length = 0;
      },
    };
  }
  if (typeof socket.pause === 'function' && typeof socket.resume === 'function') {
    socket.pause();
    return {
      release: () => socket.resume!(),
      discard() {
        // What arrived meanwhile is read (so the close handshake can complete) and goes nowhere.
        socket.removeAllListeners?.('message');
        socket.resume!();
      },
    };
  }
  return NO_GATE;
}
