import { UseGuards } from '@nestjs/common';
import { Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentSession, Roles, SessionGuard, type Session } from '../../src/index.js';

/** Yours: where notifications come from. */
export abstract class Notifications {
  abstract for(userId: string | number): AsyncIterableIterator<string>;
}

// README and docs/transports.md: "GraphQL resolvers". test/readme-examples.int-spec.ts compiles it.
@Resolver()
export class ProfileResolver {
  constructor(private readonly notifications: Notifications) {}

  @UseGuards(SessionGuard)
  @Query(() => String)
  me(@CurrentSession() session: Session): string {
    return session.username ?? '';
  }

  @UseGuards(SessionGuard)
  @Roles('admin')
  @Mutation(() => Boolean)
  purgeCache(): boolean {
    return true;
  }

  // Over graphql-ws: the connection's cookie or connectionParams.authorization.
  @UseGuards(SessionGuard)
  @Subscription(() => String, { resolve: (message: string) => message })
  notificationsFor(@CurrentSession('userId') userId: string | number): AsyncIterableIterator<string> {
    return this.notifications.for(userId);
  }
}
