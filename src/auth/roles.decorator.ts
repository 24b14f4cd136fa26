import { SetMetadata } from '@nestjs/common';
import type { Role } from './jwt';

export const ROLES_KEY = 'docket:roles';
export const PUBLIC_KEY = 'docket:public';

/** Who may call this endpoint. Every controller method declares it (or @Public); the guard refuses the rest. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** No bearer token needed (health, docs, ballots cast with a one-time token). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
