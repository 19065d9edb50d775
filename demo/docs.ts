import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/**
 * The OpenAPI document of the demo at `/docs` (Swagger UI) and `/docs-json`. The library
 * documents its `/auth` routes itself; the app only declares the two ways to carry the
 * token (the security scheme names are @nestjs/swagger's defaults, which the library uses).
 */
export function setupDemoDocs(app: INestApplication, cookieName = 'sid'): void {
  const config = new DocumentBuilder()
    .setTitle('nestjs-redis-session demo')
    .setDescription('Server-side sessions in Redis: the /auth routes of SessionModule and the demo routes.')
    .setVersion('1.0')
    .addCookieAuth(cookieName)
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: 'docs-json',
  });
}
