import { DirectCall, type CallHost, type CallOption, type DirectCallListener } from './call.js';
import { ParleyError, serverError, toParleyError } from './errors.js';
import { loadState, saveState, freshState, clearApp, type StorageLike, type StoredState, type CredentialKind, MemoryStorage } from './storage.js';
import {
  callFromJson, iceServersFromJson, userFromJson,
  type Callback, type CallInfo, type CallLogPage, type ConnectionState, type DisconnectInfo,
  type DisconnectReason, type IceServer, type PushTokenType, type User,
} from './types.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface ReconnectPolicy {
  enabled?: boolean;
  initialDelayMs?: number;
  maxDelayMs?: number;
  jitter?: number;
  /** 0: unlimited. */
  maxAttempts?: number;
}

export interface InitOptions {
  /** `http(s)://host[:port][/prefix]`; default: this page's origin. */
  apiUrl?: string;
  /** Deadline of each HTTP request and each WebSocket request (default 15000). */
  requestTimeoutMs?: number;
  /** Deadline to open the WebSocket and get `welcome` (default 15000). */
  connectTimeoutMs?: number;
  reconnect?: ReconnectPolicy;
  /** Wait before an ICE restart after ICE went `disconnected` (default 3000). */
  iceRestartDelayMs?: number;
  logger?: (level: LogLevel, message: string) => void;
  // Injectable platform pieces (tests, other runtimes). Defaults: the browser's.
  storage?: StorageLike;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  RTCPeerConnection?: typeof RTCPeerConnection;
  mediaDevices?: Pick<MediaDevices, 'getUserMedia'>;
  MediaStream?: typeof MediaStream;
  /** Where 'online' events come from (default: window). */
  eventTarget?: EventTarget | null;
}

export interface AuthenticateParams {
  userId: string;
  accessToken?: string;
  sessionToken?: string;
  jwt?: string;
}

export interface DialParams {
  userId: string;
  isVideoCall?: boolean;
  customItems?: Record<string, string>;
  callOption?: CallOption;
  /** Set before any event of the call can arrive. */
  listener?: DirectCallListener;
}

export interface CallLogQuery { limit?: number; next?: string | null }

export interface ParleyListener {
  /** A call rings for this user (once per call id). */
  onRinging?(call: DirectCall): void;
  onConnected?(): void;
  onReconnecting?(attempt: number, delayMs: number): void;
  onDisconnected?(info: DisconnectInfo): void;
}

/** Refreshes expiring sessions (session token or JWT). */
export interface SessionHandler {
  /**
   * A new token of the same kind is needed. Call `provide(token)` once (or `provide(null)` to let
   * the session expire), or return a promise of the token.
   */
  onSessionTokenRequired(provide: (token: string | null) => void): void | Promise<string | null | undefined>;
  onSessionRefreshed?(expiresAt: number): void;
  onSessionRefreshFailed?(error: ParleyError): void;
}

type Json = Record<string, unknown>;

interface Pending {
  resolve: (v: Json) => void;
  reject: (e: ParleyError) => void;
  timer: ReturnType<typeof setTimeout>;
}

function settle<T>(p: Promise<T>, cb?: Callback<T>): Promise<T> {
  if (cb) p.then((v) => cb(null, v), (e) => cb(toParleyError(e)));
  return p;
}

const g = globalThis as unknown as {
  fetch?: typeof fetch; WebSocket?: typeof WebSocket; RTCPeerConnection?: typeof RTCPeerConnection;
  navigator?: { mediaDevices?: MediaDevices }; localStorage?: StorageLike; MediaStream?: typeof MediaStream;
  window?: EventTarget; location?: { origin?: string };
};

/** The Parley client. The default export of the bundle is one instance of it. */
export class ParleyClient {
  private _appId: string | null = null;
  private opts: Required<Pick<InitOptions, 'requestTimeoutMs' | 'connectTimeoutMs' | 'iceRestartDelayMs'>> & InitOptions
    = { requestTimeoutMs: 15000, connectTimeoutMs: 15000, iceRestartDelayMs: 3000 };
  private apiBase = '';
  private storage: StorageLike = new MemoryStorage();
  private st: StoredState = freshState();
  private generation = 0;
  private aborts = new Set<AbortController>();

  private ws: WebSocket | null = null;
  private _state: ConnectionState = 'disconnected';
  private welcomed = false;
  private connectWaiters: { resolve: () => void; reject: (e: ParleyError) => void }[] = [];
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private reconnectAttempt = 0;
  private heartbeatS = 15;
  private lastReceived = 0;
  private lastSent = 0;
  private reqCounter = 0;
  private pending = new Map<string, Pending>();

  private listeners = new Map<number, ParleyListener>();
  private listenerIds = 0;
  private sessionHandler: SessionHandler | null = null;
  private calls = new Map<string, DirectCall>();
  private rung = new Set<string>();
  private pendingDials: DialParams[] = [];
  private host: CallHost;

  constructor() {
    this.host = {
      request: (m) => this.wsRequest(m),
      log: (l, m) => this.log(l, m),
      getUserMedia: (c) => {
        const md = this.opts.mediaDevices ?? g.navigator?.mediaDevices;
        if (!md) return Promise.reject(new ParleyError('media_error', 'no mediaDevices.getUserMedia here'));
        return md.getUserMedia(c);
      },
      peerConnectionClass: () => this.opts.RTCPeerConnection ?? g.RTCPeerConnection ?? null,
      iceServers: () => this.st.iceServers.map((s) => ({ ...s })),
      eventTarget: () => (this.opts.eventTarget !== undefined ? this.opts.eventTarget : g.window ?? null),
      iceRestartDelayMs: () => this.opts.iceRestartDelayMs,
      callEnded: (c) => { this.calls.delete(c.callId); },
      newMediaStream: (tracks) => {
        const MS = this.opts.MediaStream ?? g.MediaStream;
        return MS ? new MS(tracks) : null;
      },
    };
  }

  // ---------------------------------------------------------------------------------------
  // Init and state

  /**
   * Binds the client to an app and a server. A different app id than the stored one clears this
   * origin's stored Parley data of the old app. May be called again (closes the WebSocket).
   */
  init(appId: string, options: InitOptions = {}): void {
    if (typeof appId !== 'string' || !appId) throw new ParleyError('invalid_request', 'the app id is empty', { field: 'appId' });
    const origin = g.location?.origin && g.location.origin !== 'null' ? g.location.origin : '';
    const apiUrl = (options.apiUrl ?? origin).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+/i.test(apiUrl)) throw new ParleyError('invalid_request', `a bad apiUrl: "${apiUrl}"`, { field: 'apiUrl' });
    this.shutdown('closed_by_client', 'init');
    this.opts = { requestTimeoutMs: 15000, connectTimeoutMs: 15000, iceRestartDelayMs: 3000, ...options };
    this.apiBase = apiUrl;
    this.storage = options.storage ?? g.localStorage ?? new MemoryStorage();
    this._appId = appId;
    this.st = loadState(this.storage, appId);
    this.reconnectAttempt = 0;
  }

  get initialized(): boolean { return this._appId !== null; }
  get appId(): string | null { return this._appId; }
  get deviceId(): string | null { return this._appId ? this.st.deviceId : null; }
  get currentUser(): User | null { return this.st.user ? { ...this.st.user } : null; }
  /** A bearer credential: never log or share it. */
  get sessionKey(): string | null { return this.st.sessionKey; }
  get sessionExpiresAt(): number | null { return this.st.sessionExpiresAt; }
  get iceServers(): IceServer[] { return this.st.iceServers.map((s) => ({ ...s })); }
  get connectionState(): ConnectionState { return this._state; }
  /** Calls not ended that this client knows. */
  get ongoingCalls(): DirectCall[] { return [...this.calls.values()]; }
  getCall(callId: string): DirectCall | null { return this.calls.get(callId) ?? null; }

  addListener(listener: ParleyListener): number {
    const id = ++this.listenerIds;
    this.listeners.set(id, listener);
    return id;
  }
  removeListener(id: number): void { this.listeners.delete(id); }
  removeAllListeners(): void { this.listeners.clear(); }
  setSessionHandler(handler: SessionHandler | null): void { this.sessionHandler = handler; }

  // ---------------------------------------------------------------------------------------
  // Authentication

  authenticate(params: AuthenticateParams, callback?: Callback<User>): Promise<User> {
    return settle(this.doAuthenticate(params), callback);
  }

  private async doAuthenticate(p: AuthenticateParams): Promise<User> {
    this.requireInit();
    if (!p || typeof p.userId !== 'string' || !p.userId)
      throw new ParleyError('invalid_request', 'userId is required', { field: 'userId' });
    const creds = (['accessToken', 'sessionToken', 'jwt'] as const).filter((k) => typeof p[k] === 'string' && p[k]);
    if (creds.length !== 1)
      throw new ParleyError('invalid_request', 'give exactly one of accessToken, sessionToken, jwt');
    const kind: CredentialKind = creds[0] === 'accessToken' ? 'access_token' : creds[0] === 'sessionToken' ? 'session_token' : 'jwt';
    const body: Json = { user_id: p.userId, [kind]: p[creds[0]], device_id: this.st.deviceId };
    const gen = this.generation;
    const res = await this.http('POST', `/v1/apps/${encodeURIComponent(this._appId as string)}/auth`, body, false);
    if (gen !== this.generation) throw new ParleyError('network_error', 'the client was re-initialized');
    const user = userFromJson(res.user);
    if (!user || typeof res.session_key !== 'string')
      throw new ParleyError('invalid_response', 'the auth answer lacks user or session_key');
    // A new session replaces the old one locally.
    if (this.ws || this._state !== 'disconnected') this.closeSocket('closed_by_client', 1000, 'a new authentication');
    this.disposeCalls();
    this.st = {
      ...this.st,
      user,
      sessionKey: res.session_key,
      sessionExpiresAt: typeof res.session_expires_at === 'number' ? res.session_expires_at : null,
      credentialKind: kind,
      iceServers: iceServersFromJson(res.ice_servers),
    };
    this.save();
    return { ...user };
  }

  deauthenticate(callback?: Callback<void>): Promise<void> {
    const run = async (): Promise<void> => {
      this.requireSession();
      let failure: ParleyError | null = null;
      try {
        await this.http('DELETE', '/v1/session', undefined, true);
      } catch (e) {
        const err = toParleyError(e);
        if (err.code !== 'unauthorized' && err.code !== 'session_expired') failure = err;
      }
      this.closeSocket('deauthenticated', 1000, 'deauthenticated');
      this.clearSession();
      if (failure) throw failure;
    };
    return settle(run(), callback);
  }

  // ---------------------------------------------------------------------------------------
  // Push tokens

  registerPushToken(token: string, type: PushTokenType, callback?: Callback<void>): Promise<void> {
    return settle(this.pushCall('PUT', token, type), callback);
  }
  unregisterPushToken(token: string, type: PushTokenType, callback?: Callback<void>): Promise<void> {
    return settle(this.pushCall('DELETE', token, type), callback);
  }
  unregisterAllPushTokens(type: PushTokenType, callback?: Callback<void>): Promise<void> {
    return settle(this.pushCall('DELETE', null, type), callback);
  }

  private async pushCall(method: string, token: string | null, type: PushTokenType): Promise<void> {
    this.requireSession();
    if (token !== null && (typeof token !== 'string' || !token))
      throw new ParleyError('invalid_request', 'the push token is empty', { field: 'token' });
    if (!['apns_voip', 'apns', 'fcm'].includes(type))
      throw new ParleyError('invalid_request', `an unknown push token type: ${String(type)}`, { field: 'type' });
    const path = `/v1/me/push_tokens/${type}` + (token !== null ? `/${encodeURIComponent(token)}` : '');
    await this.http(method, path, undefined, true);
  }

  // ---------------------------------------------------------------------------------------
  // Call log

  /** `GET /v1/me/direct_calls`: newest first; pass `next` of a page for the following one. */
  callLog(query: CallLogQuery = {}, callback?: Callback<CallLogPage>): Promise<CallLogPage> {
    const run = async (): Promise<CallLogPage> => {
      this.requireSession();
      const limit = query.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw new ParleyError('invalid_request', 'limit must be 1..100', { field: 'limit' });
      let path = `/v1/me/direct_calls?limit=${limit}`;
      if (query.next) path += `&next=${encodeURIComponent(query.next)}`;
      const res = await this.http('GET', path, undefined, true);
      if (!Array.isArray(res.calls)) throw new ParleyError('invalid_response', 'the call log has no calls');
      const calls = res.calls.map(callFromJson).filter((c): c is CallInfo => c !== null);
      return { calls, next: typeof res.next === 'string' ? res.next : null };
    };
    return settle(run(), callback);
  }

  /** A pager over the call log: `next()` gives pages until `hasNext` is false. */
  createCallLogQuery(limit = 20): { hasNext: boolean; next(): Promise<CallInfo[]> } {
    let cursor: string | null = null;
    const q = {
      hasNext: true,
      next: async (): Promise<CallInfo[]> => {
        if (!q.hasNext) return [];
        const page = await this.callLog({ limit, next: cursor });
        cursor = page.next;
        q.hasNext = page.next !== null;
        return page.calls;
      },
    };
    return q;
  }

  // ---------------------------------------------------------------------------------------
  // Direct calls

  dial(params: DialParams, callback?: Callback<DirectCall>): Promise<DirectCall> {
    const run = async (): Promise<DirectCall> => {
      this.requireSession();
      if (!params || typeof params.userId !== 'string' || !params.userId)
        throw new ParleyError('invalid_request', 'userId (the callee) is required', { field: 'userId' });
      if (this._state !== 'connected') throw new ParleyError('network_error', 'the WebSocket is not connected');
      const isVideo = params.isVideoCall === true;
      const msg: Json = { type: 'dial', callee_id: params.userId, is_video: isVideo };
      if (params.customItems) msg.custom_items = params.customItems;
      this.pendingDials.push(params);
      let ack: Json;
      try {
        ack = await this.wsRequest(msg);
      } finally {
        const i = this.pendingDials.indexOf(params);
        if (i >= 0) this.pendingDials.splice(i, 1);
      }
      const info = callFromJson(ack.call);
      if (!info) throw new ParleyError('invalid_response', 'the dial ack has no call');
      let call = this.calls.get(info.callId);
      if (!call) {
        call = this.makeCall(info, params.callOption, params.listener);
        call._onEvent('update', ack.call);
      }
      call.acquireLocalMedia(); // the local preview starts while it rings
      return call;
    };
    return settle(run(), callback);
  }

  private makeCall(info: CallInfo, option?: CallOption, listener?: DirectCallListener): DirectCall {
    const c = new DirectCall(this.host, info, this.st.user?.userId ?? '', option ?? {});
    if (listener) c.setListener(listener);
    if (info.state !== 'ended') this.calls.set(info.callId, c);
    return c;
  }

  private ring(call: DirectCall): void {
    if (this.rung.has(call.callId)) return;
    this.rung.add(call.callId);
    this.emit((l) => l.onRinging?.(call));
  }

  // ---------------------------------------------------------------------------------------
  // WebSocket

  connectWebSocket(callback?: Callback<void>): Promise<void> {
    const run = (): Promise<void> => {
      try { this.requireSession(); } catch (e) { return Promise.reject(e); }
      if (this._state === 'connected') return Promise.resolve();
      const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
      if (this._state === 'reconnecting' && this.reconnectTimer) {
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
        this.openSocket();
      } else if (this._state === 'disconnected') {
        this.reconnectAttempt = 0;
        this.setState('connecting');
        this.openSocket();
      }
      return p;
    };
    return settle(run(), callback);
  }

  /** Closes the WebSocket and stops reconnecting; the session is kept. */
  disconnectWebSocket(): void {
    this.closeSocket('closed_by_client', 1000, 'closed by the client');
  }

  private wsUrl(): string {
    return this.apiBase.replace(/^http/i, 'ws') + '/v1/ws';
  }

  private openSocket(): void {
    const WS = this.opts.WebSocket ?? g.WebSocket;
    if (!WS) { this.socketFailed(new ParleyError('network_error', 'no WebSocket here')); return; }
    let ws: WebSocket;
    try {
      ws = new WS(this.wsUrl());
    } catch (e) {
      this.socketFailed(new ParleyError('network_error', `WebSocket: ${String(e)}`));
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    this.lastReceived = Date.now();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.ws !== ws || this.welcomed) return;
      this.dropSocket(ws);
      this.socketFailed(new ParleyError('network_error', 'no welcome in time'));
    }, this.opts.connectTimeoutMs);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.sendRaw({ type: 'hello', session_key: this.st.sessionKey, device_id: this.st.deviceId });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastReceived = Date.now();
      if (typeof ev.data !== 'string') return;
      let m: Json;
      try { m = JSON.parse(ev.data) as Json; } catch { this.log('warning', 'a frame that is not JSON'); return; }
      if (!m || typeof m !== 'object') return;
      this.onMessage(m);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.onSocketClosed(ev.code, ev.reason || '');
    };
    ws.onerror = () => { /* a close follows */ };
  }

  private dropSocket(ws: WebSocket): void {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch { /* ignore */ }
    if (this.ws === ws) this.ws = null;
  }

  private sendRaw(m: Json): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    try { ws.send(JSON.stringify(m)); this.lastSent = Date.now(); return true; } catch { return false; }
  }

  private onMessage(m: Json): void {
    const type = m.type;
    if (!this.welcomed) {
      if (type === 'welcome') { this.onWelcome(m); return; }
      if (type === 'error') {
        const err = serverError(String(m.code ?? ''), String(m.message ?? ''));
        const ws = this.ws;
        if (ws) this.dropSocket(ws);
        this.stopTimers();
        this.rejectConnect(err);
        this.clearSession();
        this.setState('disconnected');
        this.emit((l) => l.onDisconnected?.({ reason: 'session_invalid', closeCode: 4001, message: err.message }));
        return;
      }
      return;
    }
    if ((type === 'ack' || type === 'error') && typeof m.req_id === 'string' && this.pending.has(m.req_id)) {
      const p = this.pending.get(m.req_id) as Pending;
      this.pending.delete(m.req_id);
      clearTimeout(p.timer);
      if (type === 'ack') p.resolve(m);
      else p.reject(serverError(String(m.code ?? ''), String(m.message ?? ''), {
        ...(typeof m.field === 'string' ? { field: m.field } : {}),
        ...(typeof m.retry_after_s === 'number' ? { retryAfterS: m.retry_after_s } : {}),
      }));
      return;
    }
    switch (type) {
      case 'pong': case 'ack': return;
      case 'error': this.log('warning', `server error: ${String(m.code)}: ${String(m.message)}`); return;
      case 'session_expiring': this.onSessionExpiring(m); return;
      case 'ringing': case 'accepted': case 'ended': case 'connected':
      case 'remote_media_state': case 'peer_reconnecting': case 'peer_reconnected': case 'signal':
        this.onCallEvent(String(type), m); return;
      default: this.log('debug', `an unknown event: ${String(type)}`);
    }
  }

  private onWelcome(m: Json): void {
    this.welcomed = true;
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    const user = userFromJson(m.user);
    if (user) this.st.user = user;
    if ('session_expires_at' in m) this.st.sessionExpiresAt = typeof m.session_expires_at === 'number' ? m.session_expires_at : null;
    if (Array.isArray(m.ice_servers)) this.st.iceServers = iceServersFromJson(m.ice_servers);
    this.save();
    this.heartbeatS = typeof m.heartbeat_s === 'number' && m.heartbeat_s > 0 ? m.heartbeat_s : 15;
    this.reconnectAttempt = 0;
    this.startHeartbeat();
    this.setState('connected');
    // Calls: the ringing ones ring (once), the known ones no longer listed ended while away.
    const listed = new Set<string>();
    const me = this.st.user?.userId;
    for (const j of Array.isArray(m.ongoing_calls) ? m.ongoing_calls : []) {
      const info = callFromJson(j);
      if (!info || info.state === 'ended') continue;
      listed.add(info.callId);
      let c = this.calls.get(info.callId);
      if (!c) c = this.makeCall(info);
      else c._onEvent('update', j);
      if (info.state === 'ringing' && info.calleeId === me) this.ring(c);
    }
    for (const c of [...this.calls.values()]) if (!listed.has(c.callId)) c._endUnknown();
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve();
    this.emit((l) => l.onConnected?.());
  }

  private onCallEvent(type: string, m: Json): void {
    const info = m.call !== undefined ? callFromJson(m.call) : null;
    const id = info?.callId ?? (typeof m.call_id === 'string' ? m.call_id : null);
    if (!id) return;
    let c = this.calls.get(id);
    const me = this.st.user?.userId;
    if (type === 'ringing') {
      if (!info || info.calleeId !== me || info.state === 'ended') return;
      if (!c) c = this.makeCall(info);
      this.ring(c);
      return;
    }
    if (!c && type === 'accepted' && info && info.callerId === me) {
      // The accept overtook the dial's ack.
      const p = this.pendingDials.shift();
      c = this.makeCall(info, p?.callOption, p?.listener);
    }
    if (!c) return;
    if (type === 'signal') c._onEvent('signal', m.data);
    else if (type === 'remote_media_state' || type === 'peer_reconnecting' || type === 'peer_reconnected') c._onEvent(type, m);
    else c._onEvent(type, m.call ?? null);
  }

  private onSessionExpiring(m: Json): void {
    const h = this.sessionHandler;
    const kind = this.st.credentialKind;
    if (!h || (kind !== 'session_token' && kind !== 'jwt')) return;
    let done = false;
    const provide = (token: string | null | undefined): void => {
      if (done) return;
      done = true;
      if (!token) return;
      this.wsRequest({ type: 'refresh', [kind]: token }).then((ack) => {
        if (typeof ack.session_expires_at === 'number') {
          this.st.sessionExpiresAt = ack.session_expires_at;
          this.save();
          try { h.onSessionRefreshed?.(ack.session_expires_at); } catch (e) { this.log('error', String(e)); }
        }
      }, (e) => {
        try { h.onSessionRefreshFailed?.(toParleyError(e)); } catch (x) { this.log('error', String(x)); }
      });
    };
    this.log('info', `the session expires at ${String(m.expires_at)}: asking for a new token`);
    try {
      const r = h.onSessionTokenRequired(provide);
      if (r && typeof (r as Promise<unknown>).then === 'function')
        (r as Promise<string | null | undefined>).then((t) => provide(t), (e) => {
          done = true;
          try { h.onSessionRefreshFailed?.(toParleyError(e)); } catch { /* ignore */ }
        });
    } catch (e) {
      this.log('error', `the session handler threw: ${String(e)}`);
    }
  }

  /** Sends a request with a fresh req_id; resolves with the ack, rejects with the error. */
  private wsRequest(message: Json): Promise<Json> {
    if (!this.initialized) return Promise.reject(new ParleyError('not_initialized', 'call init() first'));
    if (!this.st.sessionKey) return Promise.reject(new ParleyError('not_authenticated', 'authenticate first'));
    if (this._state !== 'connected') return Promise.reject(new ParleyError('network_error', 'the WebSocket is not connected'));
    const reqId = `r${++this.reqCounter}`;
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new ParleyError('network_error', `no answer to ${String(message.type)} in time`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(reqId, { resolve, reject, timer });
      if (!this.sendRaw({ ...message, req_id: reqId })) {
        clearTimeout(timer);
        this.pending.delete(reqId);
        reject(new ParleyError('network_error', 'the WebSocket is not open'));
      }
    });
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const hbMs = this.heartbeatS * 1000;
    const tick = Math.max(250, Math.min(5000, hbMs / 3));
    this.heartbeatTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws || !this.welcomed) return;
      const now = Date.now();
      if (now - this.lastReceived > 2 * hbMs + 5000) {
        this.log('warning', 'the server is silent: reconnecting');
        this.dropSocket(ws);
        this.onSocketClosed(1006, 'heartbeat timeout');
        return;
      }
      if (now - this.lastReceived >= hbMs && now - this.lastSent >= hbMs) this.sendRaw({ type: 'ping' });
    }, tick);
  }

  private stopTimers(): void {
    if (this.heartbeatTimer) { clearInterval(this.heartbeatTimer); this.heartbeatTimer = null; }
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    if (this.reconnectTimer) { clearTimeout(this.reconnectTimer); this.reconnectTimer = null; }
  }

  private failPending(message: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) { clearTimeout(p.timer); p.reject(new ParleyError('network_error', message)); }
  }

  private rejectConnect(e: ParleyError): void {
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(e);
  }

  /** The first connect failed (no retry) or a reconnect attempt failed (retry). */
  private socketFailed(e: ParleyError): void {
    if (this._state === 'reconnecting') { this.scheduleReconnect(); return; }
    this.ws = null;
    this.stopTimers();
    this.rejectConnect(e);
    this.setState('disconnected');
    this.emit((l) => l.onDisconnected?.({ reason: 'network', closeCode: 0, message: e.message }));
  }

  private onSocketClosed(code: number, reason: string): void {
    const wasWelcomed = this.welcomed;
    this.ws = null;
    this.welcomed = false;
    if (this.heartbeatTimer) { clearInterval(this.heartbeatTimer); this.heartbeatTimer = null; }
    if (this.connectTimer) { clearTimeout(this.connectTimer); this.connectTimer = null; }
    this.failPending(`the WebSocket closed (${code})`);
    const ends: Record<number, DisconnectReason> = { 4000: 'deauthenticated', 4001: 'session_invalid', 4003: 'user_deleted', 4004: 'replaced' };
    const r = ends[code];
    if (r) {
      if (r !== 'replaced') { this.clearSession(); }
      this.stopTimers();
      this.rejectConnect(r === 'session_invalid' ? new ParleyError('session_expired', reason || 'the session is not valid')
        : new ParleyError('network_error', reason || `closed ${code}`));
      this.setState('disconnected');
      this.emit((l) => l.onDisconnected?.({ reason: r, closeCode: code, message: reason }));
      return;
    }
    // A network reason: reconnect when we had been connected (or are already retrying).
    if ((wasWelcomed || this._state === 'reconnecting') && this.opts.reconnect?.enabled !== false) {
      if (this._state !== 'reconnecting') { this.reconnectAttempt = 0; this.setState('reconnecting'); }
      this.scheduleReconnect();
      return;
    }
    this.socketFailed(new ParleyError('network_error', `the WebSocket closed (${code}${reason ? `: ${reason}` : ''})`));
  }

  private scheduleReconnect(): void {
    const p = this.opts.reconnect ?? {};
    const max = p.maxAttempts ?? 0;
    this.reconnectAttempt++;
    if (max > 0 && this.reconnectAttempt > max) {
      this.stopTimers();
      this.rejectConnect(new ParleyError('network_error', 'reconnection gave up'));
      this.setState('disconnected');
      this.emit((l) => l.onDisconnected?.({ reason: 'network', closeCode: 0, message: 'reconnection gave up' }));
      return;
    }
    const initial = p.initialDelayMs ?? 500, maxDelay = p.maxDelayMs ?? 30000, jitter = p.jitter ?? 0.5;
    const base = Math.min(maxDelay, initial * 2 ** (this.reconnectAttempt - 1));
    const delay = Math.max(0, Math.round(base - Math.random() * jitter * base));
    const attempt = this.reconnectAttempt;
    this.emit((l) => l.onReconnecting?.(attempt, delay));
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => { this.reconnectTimer = null; this.openSocket(); }, delay);
  }

  private closeSocket(reason: DisconnectReason, code: number, message: string): void {
    const ws = this.ws;
    const was = this._state;
    if (ws) this.dropSocket(ws);
    this.ws = null;
    this.welcomed = false;
    this.stopTimers();
    this.failPending(message);
    this.rejectConnect(new ParleyError('network_error', message));
    if (was !== 'disconnected') {
      this.setState('disconnected');
      this.emit((l) => l.onDisconnected?.({ reason, closeCode: code, message }));
    }
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  private shutdown(reason: DisconnectReason, message: string): void {
    this.generation++;
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    this.closeSocket(reason, 1000, message);
    this.disposeCalls();
  }

  private disposeCalls(): void {
    for (const c of this.calls.values()) c._dispose();
    this.calls.clear();
    this.rung.clear();
  }

  private clearSession(): void {
    this.disposeCalls();
    this.st = { ...this.st, user: null, sessionKey: null, sessionExpiresAt: null, credentialKind: null };
    this.save();
  }

  private save(): void { if (this._appId) saveState(this.storage, this._appId, this.st); }

  private requireInit(): void {
    if (!this._appId) throw new ParleyError('not_initialized', 'call init() first');
  }

  private requireSession(): void {
    this.requireInit();
    if (!this.st.sessionKey) throw new ParleyError('not_authenticated', 'authenticate first');
  }

  private setState(s: ConnectionState): void { this._state = s; }

  private emit(f: (l: ParleyListener) => void): void {
    for (const l of [...this.listeners.values()]) {
      try { f(l); } catch (e) { this.log('error', `a listener threw: ${String(e)}`); }
    }
  }

  private log(level: LogLevel, message: string): void {
    try { this.opts.logger?.(level, message); } catch { /* ignore */ }
  }

  /** HTTP with the error envelope of the protocol. */
  private async http(method: string, path: string, body: Json | undefined, auth: boolean): Promise<Json> {
    const f = this.opts.fetch ?? g.fetch;
    if (!f) throw new ParleyError('network_error', 'no fetch here');
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) headers.Authorization = `Bearer ${this.st.sessionKey}`;
    const abort = typeof AbortController === 'function' ? new AbortController() : null;
    if (abort) this.aborts.add(abort);
    const timer = setTimeout(() => abort?.abort(), this.opts.requestTimeoutMs);
    let res: Response;
    try {
      res = await f.call(globalThis, this.apiBase + path, {
        method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(abort ? { signal: abort.signal } : {}),
      });
    } catch (e) {
      throw new ParleyError('network_error', `${method} ${path}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
      if (abort) this.aborts.delete(abort);
    }
    let text = '';
    try { text = await res.text(); } catch (e) { throw new ParleyError('network_error', String(e)); }
    let json: unknown = null;
    if (text) { try { json = JSON.parse(text); } catch { json = null; } }
    if (res.ok) {
      if (res.status === 204 || !text) return {};
      if (!json || typeof json !== 'object') throw new ParleyError('invalid_response', `${method} ${path}: not JSON`, { httpStatus: res.status });
      return json as Json;
    }
    const err = (json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
    if (!err || typeof err.code !== 'string')
      throw new ParleyError('invalid_response', `${method} ${path}: HTTP ${res.status}`, { httpStatus: res.status });
    const retry = res.headers?.get?.('Retry-After');
    throw serverError(err.code, typeof err.message === 'string' ? err.message : err.code, {
      httpStatus: res.status,
      ...(typeof err.field === 'string' ? { field: err.field } : {}),
      ...(retry && /^\d+$/.test(retry) ? { retryAfterS: Number(retry) } : {}),
    });
  }
}

export { clearApp };
