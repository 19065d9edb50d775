import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiProperty } from '../openapi/decorators.js';

/** Body of `POST /auth/login`. Unknown fields are refused (400). */
export class LoginDto {
  /** 1–256 characters. */
  @ApiProperty({ minLength: 1, maxLength: 256, example: 'alice' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  username!: string;

  /** 1–1024 characters (a cap that keeps hash work per request bounded). */
  @ApiProperty({ minLength: 1, maxLength: 1024, format: 'password', example: 'correct horse battery staple' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  password!: string;

  /** "Remember me": the session gets the `rememberMe` lifetimes and a persistent cookie (ignored when the option is off). */
  @ApiProperty({ required: false, type: Boolean, example: false })
  @IsOptional()
  @IsBoolean()
  rememberMe?: boolean;
}
