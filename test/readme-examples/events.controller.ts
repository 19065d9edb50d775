import { Controller, Req, Sse, UseGuards, type MessageEvent } from '@nestjs/common';
import type { Request } from 'express';
import { interval, map, type Observable } from 'rxjs';
import { SessionGuard, SessionStreams } from '../../src/index.js';

// README and docs/transports.md: "SSE streams" (that end with their session). test/sse.e2e-spec.ts runs it.
@Controller('events')
export class EventsController {
  private readonly updates$ = interval(100).pipe(map((n): MessageEvent => ({ data: { n } })));

  constructor(private readonly streams: SessionStreams) {}

  @UseGuards(SessionGuard)
  @Sse()
  events(@Req() req: Request): Observable<MessageEvent> {
    return this.updates$.pipe(this.streams.untilSessionEnds(req));
  }
}
