import { applyDecorators, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { Role } from './jwt';

export const ROLES_KEY = 'docket:roles';
export const PUBLIC_KEY = 'docket:public';

/**
 * Fastify route config of every endpoint that needs a bearer token: the token is checked as the
 * request arrives, before its body is read (app.factory.ts), so a caller without a valid one
 * gets 401 whatever it sends, and no body of theirs is parsed.
 */
export const AUTHENTICATED_ROUTE = 'docketAuthenticated';

/** Who may call this endpoint. Every controller method declares it (or @Public); the guard refuses the rest. */
export const Roles = (...roles: Role[]) => applyDecorators(SetMetadata(ROLES_KEY, roles), RouteConfig({ [AUTHENTICATED_ROUTE]: true }));

/** No bearer token needed (health, docs, ballots cast with a one-time token). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
