import { SetMetadata } from '@nestjs/common';
import { NO_SLIDE_KEY } from '../metadata.js';

/**
 * For routes a page polls on its own (notification counts, status checks): `SessionGuard`
 * validates the session without extending its idle timeout, still in one Redis command, so an
 * open tab nobody looks at does not keep its session alive forever.
 *
 * ```ts
 * @UseGuards(SessionGuard)
 * @NoSlide()
 * @Get('notifications/count')
 * count() {}
 * ```
 */
export const NoSlide = (): MethodDecorator & ClassDecorator => SetMetadata(NO_SLIDE_KEY, true);
