import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, Actor } from '../common/domain/domain-error';
import { InvalidTokenError, JwtCodec, Role } from './jwt';
import { PUBLIC_KEY, ROLES_KEY } from './roles.decorator';

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
    const header: string | undefined = req.headers?.authorization;
    if (!header) throw new DomainError('UNAUTHENTICATED', 'a Bearer token is required (Authorization: Bearer <jwt>)');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new DomainError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <jwt>"');
    let actor: Actor;
    try {
      actor = this.jwt.actor(m[1]);
    } catch (e) {
      if (e instanceof InvalidTokenError) throw new DomainError('UNAUTHENTICATED', `invalid token: ${e.message}`);
      throw e;
    }
    req.actor = actor;
    if (!roles || !roles.includes(actor.role as Role)) {
      throw new DomainError('FORBIDDEN', `role ${actor.role} may not call this endpoint`, { role: actor.role, allowed: roles ?? [] });
    }
    return true;
  }
}

/** The authenticated caller, as the guard found it. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => ctx.switchToHttp().getRequest().actor);
