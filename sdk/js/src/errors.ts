/** The protocol's error codes and the SDK's own. */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'token_expired'
  | 'session_expired'
  | 'forbidden'
  | 'not_found'
  | 'user_exists'
  | 'invalid_call_state'
  | 'room_full'
  | 'dial_myself'
  | 'callee_not_found'
  | 'payload_too_large'
  | 'rate_limited'
  | 'internal'
  | 'unavailable'
  | 'not_initialized'
  | 'not_authenticated'
  | 'network_error'
  | 'invalid_response'
  | 'media_error'
  | 'unknown';

export const ERROR_CODES: readonly ErrorCode[] = [
  'invalid_request', 'unauthorized', 'invalid_credentials', 'token_expired', 'session_expired',
  'forbidden', 'not_found', 'user_exists', 'invalid_call_state', 'room_full', 'dial_myself',
  'callee_not_found', 'payload_too_large', 'rate_limited', 'internal', 'unavailable',
  'not_initialized', 'not_authenticated', 'network_error', 'invalid_response', 'media_error',
  'unknown',
];

export interface ParleyErrorInit {
  httpStatus?: number;
  serverCode?: string;
  field?: string;
  retryAfterS?: number;
}

/** Every failure of the SDK: `code` is the protocol's code (or the SDK's own). */
export class ParleyError extends Error {
  readonly code: ErrorCode;
  /** 0 when the error did not come over HTTP. */
  readonly httpStatus: number;
  /** The code as the server spelled it ('' for the SDK's own errors). */
  readonly serverCode: string;
  /** invalid_request: the field at fault. */
  readonly field?: string;
  /** rate_limited: seconds to wait. */
  readonly retryAfterS?: number;

  constructor(code: ErrorCode, message: string, init: ParleyErrorInit = {}) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    this.httpStatus = init.httpStatus ?? 0;
    this.serverCode = init.serverCode ?? '';
    if (init.field !== undefined) this.field = init.field;
    if (init.retryAfterS !== undefined) this.retryAfterS = init.retryAfterS;
  }

  override toString(): string {
    return `${this.code}: ${this.message}${this.httpStatus ? ` (HTTP ${this.httpStatus})` : ''}`;
  }
}

/** An error of the server, from its wire code. Unknown codes become 'unknown'. */
export function serverError(serverCode: string, message: string, init: ParleyErrorInit = {}): ParleyError {
  const code = (ERROR_CODES as readonly string[]).includes(serverCode) ? (serverCode as ErrorCode) : 'unknown';
  return new ParleyError(code, message || serverCode, { ...init, serverCode });
}

export function toParleyError(e: unknown, fallback: ErrorCode = 'network_error'): ParleyError {
  if (e instanceof ParleyError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ParleyError(fallback, message);
}
