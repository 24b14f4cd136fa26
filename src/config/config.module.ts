export const DOCKET_CONFIG = Symbol('DOCKET_CONFIG');
