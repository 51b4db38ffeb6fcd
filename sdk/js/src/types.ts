/** Data types, as on the wire but in JavaScript naming. Times are ms since the Unix epoch. */

export interface User {
  userId: string;
  nickname: string;
  profileUrl: string;
  metadata: Record<string, string>;
  createdAt: number;
  hasAccessToken: boolean;
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export type CallState = 'ringing' | 'accepted' | 'connected' | 'ended';

export type EndResult =
  | 'completed'
  | 'canceled'
  | 'declined'
  | 'no_answer'
  | 'other_device_accepted'
  | 'timed_out'
  | 'connection_lost'
  | 'unknown';

/** The server's call object. */
export interface CallInfo {
  callId: string;
  callerId: string;
  calleeId: string;
  isVideo: boolean;
  state: CallState;
  createdAt: number;
  acceptedAt: number | null;
  connectedAt: number | null;
  endedAt: number | null;
  endResult: EndResult | null;
  endedBy: string | null;
  durationMs: number | null;
  customItems: Record<string, string>;
}

export interface CallLogPage {
  calls: CallInfo[];
  next: string | null;
}

export type PushTokenType = 'apns_voip' | 'apns' | 'fcm';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

export type DisconnectReason =
  | 'deauthenticated'
  | 'session_invalid'
  | 'user_deleted'
  | 'replaced'
  | 'network'
  | 'closed_by_client';

export interface DisconnectInfo {
  reason: DisconnectReason;
  closeCode: number;
  message: string;
}

/** Node-style callback: `(error, result)`; `error` is null on success. */
export type Callback<T> = (error: import('./errors.js').ParleyError | null, result?: T) => void;

type Json = Record<string, unknown>;

const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export function userFromJson(j: unknown): User | null {
  if (!j || typeof j !== 'object') return null;
  const o = j as Json;
  if (typeof o.user_id !== 'string') return null;
  const md: Record<string, string> = {};
  if (o.metadata && typeof o.metadata === 'object')
    for (const [k, v] of Object.entries(o.metadata as Json)) if (typeof v === 'string') md[k] = v;
  return {
    userId: o.user_id,
    nickname: str(o.nickname),
    profileUrl: str(o.profile_url),
    metadata: md,
    createdAt: num(o.created_at) ?? 0,
    hasAccessToken: o.has_access_token === true,
  };
}

export function callFromJson(j: unknown): CallInfo | null {
  if (!j || typeof j !== 'object') return null;
  const o = j as Json;
  if (typeof o.call_id !== 'string' || typeof o.caller_id !== 'string' || typeof o.callee_id !== 'string')
    return null;
  const items: Record<string, string> = {};
  if (o.custom_items && typeof o.custom_items === 'object')
    for (const [k, v] of Object.entries(o.custom_items as Json)) if (typeof v === 'string') items[k] = v;
  return {
    callId: o.call_id,
    callerId: o.caller_id,
    calleeId: o.callee_id,
    isVideo: o.is_video === true,
    state: (str(o.state, 'ringing') as CallState),
    createdAt: num(o.created_at) ?? 0,
    acceptedAt: num(o.accepted_at),
    connectedAt: num(o.connected_at),
    endedAt: num(o.ended_at),
    endResult: typeof o.end_result === 'string' ? (o.end_result as EndResult) : null,
    endedBy: typeof o.ended_by === 'string' ? o.ended_by : null,
    durationMs: num(o.duration_ms),
    customItems: items,
  };
}

export function iceServersFromJson(j: unknown): IceServer[] {
  if (!Array.isArray(j)) return [];
  const out: IceServer[] = [];
  for (const s of j) {
    if (!s || typeof s !== 'object') continue;
    const o = s as Json;
    const urls = Array.isArray(o.urls) ? o.urls.filter((u): u is string => typeof u === 'string')
      : typeof o.urls === 'string' ? [o.urls] : [];
    if (!urls.length) continue;
    const server: IceServer = { urls };
    if (typeof o.username === 'string') server.username = o.username;
    if (typeof o.credential === 'string') server.credential = o.credential;
    out.push(server);
  }
  return out;
}
