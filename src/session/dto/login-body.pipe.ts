import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { LoginDto } from './login.dto.js';

const ALLOWED_KEYS = new Set(['username', 'password']);

/**
 * Validates the login body on its own, so the app needs no global ValidationPipe.
 * Every own key but username and password is refused here first: `whitelist` cannot see
 * a JSON `__proto__` key (class-transformer assigns it as the prototype), nor keys named
 * like Object.prototype methods (`toString`, `valueOf`: class-transformer skips them).
 */
export class LoginBodyPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validateCustomDecorators: true,
      expectedType: LoginDto,
      validationError: { target: false, value: false },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const unknown = Object.keys(value).filter((key) => !ALLOWED_KEYS.has(key));
      if (unknown.length > 0) {
        throw new BadRequestException(unknown.slice(0, 10).map((key) => `property ${key} should not exist`));
      }
    }
    return super.transform(value, metadata);
  }
}
