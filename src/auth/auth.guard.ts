import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, Actor } from '../common/domain/domain-error';
import { InvalidTokenError, JwtCodec, Role } from './jwt';
import type { FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { toProblem } from '../common/problem.filter';
import { AUTHENTICATED_ROUTE, PUBLIC_KEY, ROLES_KEY } from './roles.decorator';

export const JWT_CODEC = Symbol('JWT_CODEC');

/**
 * Global guard. Secure by default: an endpoint without @Roles or @Public is refused,
 * so forgetting to declare who may call it can never open it to everybody.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(JWT_CODEC) private readonly jwt: JwtCodec,
  ) {}

  /** Who may call each handler of each controller class, read from their decorators once (they never change at run time). */
  private readonly access = new WeakMap<object, WeakMap<object, { isPublic: boolean; roles?: Role[] }>>();

  canActivate(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const controller = context.getClass();
    let ofClass = this.access.get(controller);
    if (!ofClass) this.access.set(controller, (ofClass = new WeakMap()));
    let access = ofClass.get(handler);
    if (!access) {
      const targets = [handler, controller];
      access = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)),
        roles: this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets),
      };
      ofClass.set(handler, access);
    }
    if (access.isPublic) return true;
    const roles = access.roles;
    const req = context.switchToHttp().getRequest();
    // An endpoint with @Roles had its token checked as the request arrived (authenticateOnArrival).
    const actor: Actor = req.actor ?? authenticate(req.headers?.authorization, this.jwt);
    req.actor = actor;
    if (!roles || !roles.includes(actor.role as Role)) {
      throw new DomainError('FORBIDDEN', `role ${actor.role} may not call this endpoint`, { role: actor.role, allowed: roles ?? [] });
    }
    return true;
  }
}

/** The actor an Authorization header speaks for; DomainError UNAUTHENTICATED when there is none or it is not valid. */
export function authenticate(header: string | undefined, jwt: JwtCodec): Actor {
  if (!header) throw new DomainError('UNAUTHENTICATED', 'a Bearer token is required (Authorization: Bearer <jwt>)');
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new DomainError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <jwt>"');
  try {
    return jwt.actor(m[1]);
  } catch (e) {
    if (e instanceof InvalidTokenError) throw new DomainError('UNAUTHENTICATED', `invalid token: ${e.message}`);
    throw e;
  }
}

/**
 * Fastify onRoute hook: gives every endpoint that needs a token (AUTHENTICATED_ROUTE, set by
 * @Roles) an onRequest hook of its own, which checks the token before the body is read and
 * answers 401 problem+json at once when it fails. A caller without a valid token then gets 401
 * whatever its body (malformed, oversize, of another media type), and the service parses nothing
 * it sent. Public endpoints get no hook. The guard still decides the role.
 */
export function authenticateOnArrival(jwt: JwtCodec) {
  const onRequest: onRequestHookHandler = (request, reply, done) => {
    try {
      (request as FastifyRequest & { actor?: Actor }).actor = authenticate(request.headers.authorization, jwt);
    } catch (e) {
      const problem = toProblem(e, request.url);
      void reply.status(problem.status).header('Content-Type', 'application/problem+json; charset=utf-8').send(problem);
      return;
    }
    done();
  };
  return (route: RouteOptions): void => {
    if ((route.config as unknown as Record<string, unknown> | undefined)?.[AUTHENTICATED_ROUTE] !== true) return;
    route.onRequest = [...(route.onRequest ? [route.onRequest].flat() : []), onRequest];
  };
}

/** The authenticated caller, as the guard found it. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => ctx.switchToHttp().getRequest().actor);
