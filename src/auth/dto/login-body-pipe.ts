import { ValidationPipe } from '@nestjs/common';
import { LoginDto } from './login.js';

/**
 * class-validator on the login body, on its own, so the app needs no global ValidationPipe.
 * `readLoginBody` runs it only on a flat object of strings.
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
}
