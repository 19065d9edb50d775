import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentSession, Roles, SessionDto, SessionGuard, type Session } from '../src/index.js';

/** The demo's protected routes: any logged-in user, and admins only. */
@ApiTags('demo')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller()
@UseGuards(SessionGuard)
export class DemoController {
  /** 200 with the current session, 401 without one. */
  @ApiResponse({ status: 200, description: 'The current session', type: SessionDto })
  @Get('me')
  // Personal data: no browser or proxy should keep a copy.
  @Header('Cache-Control', 'no-store')
  me(@CurrentSession() session: Session): Session {
    return session;
  }

  /** 200 for role `admin`, 403 for other roles, 401 without a session. */
  @Get('admin')
  @Roles('admin')
  @Header('Cache-Control', 'no-store')
  admin(@CurrentSession() session: Session): { message: string; username: string | null } {
    return { message: 'Welcome to the admin area', username: session.username };
  }
}
