import { Controller, Get, Header, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public, SessionAuth } from '../../src/index.js';

/** Yours: exchanges the code, checks state and nonce. */
export abstract class OAuthClient {
  abstract exchange(code: string, state: string): Promise<{ sub: string }>;
}

/** Yours. */
export abstract class UsersService {
  abstract findOrCreateByGoogleId(sub: string): Promise<{ id: string; email: string; role: string }>;
}

// docs/sessions.md: "Your own sign-in routes". test/readme-examples.int-spec.ts compiles it.
@Controller('sso')
export class SsoController {
  constructor(
    private readonly auth: SessionAuth,
    private readonly oauth: OAuthClient, // yours: exchanges the code, checks state and nonce
    private readonly users: UsersService, // yours
  ) {}

  @Public()
  @Get('callback')
  @Header('Cache-Control', 'no-store')
  async callback(
    @Query('code') code: string,
    @Query('state') state: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const profile = await this.oauth.exchange(code, state); // throws on a bad code or state
    const user = await this.users.findOrCreateByGoogleId(profile.sub);
    await this.auth.signIn(req, res, { id: user.id, username: user.email, role: user.role });
    return { ok: true }; // or redirect the browser to the app
  }
}
