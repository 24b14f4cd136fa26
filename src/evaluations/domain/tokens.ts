import { createHash } from 'node:crypto';
import { VOTER } from './evaluation-events';

/**
 * Ballot tokens are 160 random bits written as 32 characters of Crockford's base32
 * (digits and capitals without I, L, O, U), printed in groups of four. Reading them back,
 * case, spaces and dashes do not matter, and I/L read as 1, O as 0.
 */
export const TOKEN_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const TOKEN_LENGTH = 32;
const CANONICAL = /^[0-9A-HJKMNP-TV-Z]{32}$/;

/** The canonical form of a token as typed or scanned, or null when it cannot be one. */
export function normalizeToken(raw: string): string | null {
  if (raw.length > 128) return null;
  const t = raw.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  return CANONICAL.test(t) ? t : null;
}

/** What EvaluationOpened stores of a token: its sha-256, hex. */
export function hashToken(canonicalToken: string): string {
  return createHash('sha256').update(canonicalToken).digest('hex');
}

/** A token as printed: groups of four characters joined by hyphens (e.g. K7QF-2M9D-…). */
export function formatToken(canonicalToken: string): string {
  return canonicalToken.replace(/(.{4})(?=.)/g, '$1-');
}

/** Midnight UTC of the instant's day: all a ballot keeps of when it was cast. */
export function dayOf(now: Date): string {
  return `${now.toISOString().slice(0, 10)}T00:00:00.000Z`;
}

/** The metadata a ballot is stored with: an anonymous actor and the day, nothing that could tell voters apart. */
export function ballotMetadata(now: Date): { actor: typeof VOTER; occurredAt: string } {
  return { actor: VOTER, occurredAt: dayOf(now) };
}
