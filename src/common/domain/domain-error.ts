/**
 * Every refusal the domain or the application makes carries a stable string `code`;
 * one exception filter maps codes to HTTP status and problem+json.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export interface Actor {
  sub: string;
  role: 'bureau' | 'unit' | 'auditor' | 'system';
  unit?: string;
}
