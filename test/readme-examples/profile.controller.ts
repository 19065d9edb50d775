// README: "Recipes by transport" › REST (guard routes, restrict by role), shown whole from its
// imports on. The docs/testing.md recipes test it: profile.e2e-spec.ts (a real Redis),
// profile.controller.spec.ts (none).
import { Controller, Get, UseGuards } from '@nestjs/common';
import { CurrentSession, Roles, SessionGuard, type Session } from '../../src/index.js';

@Controller()
@UseGuards(SessionGuard)
export class ProfileController {
  @Get('me')
  me(@CurrentSession() session: Session) {
    return { id: session.userId, name: session.username };
  }

  @Get('admin/stats')
  @Roles('admin') // 403 unless session.role is 'admin'
  stats(@CurrentSession('userId') userId: string | number) {
    return { userId };
  }
}
