import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** Body of `POST /auth/login`. Unknown fields are refused (400). */
export class LoginDto {
  /** 1–256 characters. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  username!: string;

  /** 1–1024 characters (a cap that keeps hash work per request bounded). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  password!: string;
}
