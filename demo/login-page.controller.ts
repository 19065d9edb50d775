import { Controller, Get, Header, HttpCode } from '@nestjs/common';
import { LIVE_PAGE_CSP, LIVE_PAGE_HTML, LOGIN_PAGE_CSP, LOGIN_PAGE_HTML } from './login-page.html.js';

/**
 * The demo's pages: `GET /` (log in, sessions, log out) and `GET /live` (a socket.io
 * connection that ends with its session). They call the JSON routes, and connect,
 * themselves, so they need no session to be served.
 */
@Controller()
export class LoginPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', LOGIN_PAGE_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  // Revalidate (ETag) so a new build's page and its CSP hashes are never mismatched.
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return LOGIN_PAGE_HTML;
  }

  @Get('live')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', LIVE_PAGE_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  live(): string {
    return LIVE_PAGE_HTML;
  }

  /**
   * Browsers ask for /favicon.ico on their own (the page's CSP does not cover that
   * request): an empty answer instead of a 404 in every visitor's console.
   */
  @Get('favicon.ico')
  @HttpCode(204)
  @Header('Cache-Control', 'public, max-age=86400')
  favicon(): void {}
}
