// Fakes for the SDK's unit tests: fetch, a WebSocket wired to an in-process fake Parley server
// (auth, hello/welcome, direct calls, relays, refresh), RTCPeerConnection and getUserMedia.
// Not a test file itself (node --test runs only test/).

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Waits until fn() is truthy (polling), or fails after `ms`. */
export async function until(fn, what = 'condition', ms = 2000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

// ------------------------------------------------------------------------------------------
// fetch

/** A fetch that records calls and answers with `handler(req)` → {status, body, headers}. */
export function fakeFetch(handler) {
  const calls = [];
  const f = async (url, init = {}) => {
    const req = { url: String(url), method: init.method ?? 'GET', headers: init.headers ?? {},
      body: init.body ? JSON.parse(init.body) : undefined };
    calls.push(req);
    const r = (await handler(req)) ?? { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
    const text = r.body === undefined ? '' : JSON.stringify(r.body);
    const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    return { ok: r.status >= 200 && r.status < 300, status: r.status,
      headers: { get: (k) => headers.get(k.toLowerCase()) ?? null }, text: async () => text };
  };
  f.calls = calls;
  return f;
}

// ------------------------------------------------------------------------------------------
// A fake Parley server: one app, users with access tokens; speaks the wire protocol.

let uuidN = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++uuidN).padStart(12, '0')}`;

export class FakeServer {
  constructor({ appId = 'app-1', users = ['alice', 'bob'], iceServers = [{ urls: ['stun:stun.example.org:3478'] }] } = {}) {
    this.appId = appId;
    this.users = new Map(users.map((u) => [u, { token: `tok-${u}`, sessionToken: `st-${u}` }]));
    this.sessions = new Map(); // key → {userId, expiresAt}
    this.iceServers = iceServers;
    this.conns = []; // open connections
    this.sockets = []; // every FakeWebSocket made
    this.calls = new Map();
    this.log = []; // every message a client sent after hello: {from: userId, msg}
    this.refreshTokens = new Set(['st2-alice', 'jwt2-alice']);
    const server = this;
    this.fetch = fakeFetch((req) => server.route(req));
    this.WebSocket = class extends FakeWebSocket {
      constructor(url) { super(url, server); }
    };
  }

  userJson(id) {
    return { user_id: id, nickname: '', profile_url: '', metadata: {}, created_at: 1, has_access_token: true };
  }

  route(req) {
    const path = req.url.replace(/^https?:\/\/[^/]+/, '');
    if (req.method === 'POST' && path === `/v1/apps/${this.appId}/auth`) {
      const b = req.body;
      const u = this.users.get(b.user_id);
      const ok = u && ((b.access_token && b.access_token === u.token) || (b.session_token && b.session_token === u.sessionToken) ||
        (b.jwt && b.jwt === `jwt-${b.user_id}`));
      if (!ok) return { status: 401, body: { error: { code: 'invalid_credentials', message: 'user id and token do not match' } } };
      const key = `sk-${b.user_id}-${uuid()}`;
      const expiresAt = b.access_token ? null : Date.now() + 3600_000;
      this.sessions.set(key, { userId: b.user_id, expiresAt, deviceId: b.device_id });
      return { status: 200, body: { session_key: key, user: this.userJson(b.user_id), session_expires_at: expiresAt, ice_servers: this.iceServers } };
    }
    const auth = req.headers.Authorization ?? '';
    const s = this.sessions.get(auth.replace(/^Bearer /, ''));
    if (!s) return { status: 401, body: { error: { code: 'unauthorized', message: 'no session' } } };
    if (req.method === 'GET' && path.startsWith('/v1/me/direct_calls')) {
      const calls = [...this.calls.values()].filter((c) => c.caller_id === s.userId || c.callee_id === s.userId).reverse()
        .map(({ callerConn, calleeConn, ...rest }) => rest);
      return { status: 200, body: { calls, next: null } };
    }
    if (req.method === 'DELETE' && path === '/v1/session') { this.sessions.delete(auth.replace(/^Bearer /, '')); return { status: 204 }; }
    if (path.startsWith('/v1/me/push_tokens/')) return { status: 204 };
    return undefined;
  }

  // -- WebSocket side
  accept(sock) { /* opened */ }

  send(conn, m) { conn.sock._deliver(JSON.stringify(m)); }

  userConns(userId) { return this.conns.filter((c) => c.userId === userId); }

  close(conn, code, reason = '') {
    this.conns = this.conns.filter((c) => c !== conn);
    conn.sock._serverClose(code, reason);
  }

  receive(sock, text) {
    const m = JSON.parse(text);
    let conn = this.conns.find((c) => c.sock === sock);
    if (!conn) {
      const s = m.type === 'hello' && this.sessions.get(m.session_key);
      if (!s) { sock._deliver(JSON.stringify({ type: 'error', code: 'unauthorized', message: 'bad hello' })); sock._serverClose(4001, 'bad hello'); return; }
      conn = { sock, userId: s.userId, sessionKey: m.session_key, deviceId: m.device_id, id: uuid() };
      this.conns.push(conn);
      const ongoing = [...this.calls.values()].filter((c) => c.state !== 'ended' && (c.caller_id === s.userId || c.callee_id === s.userId))
        .map(({ callerConn, calleeConn, ...rest }) => rest);
      this.send(conn, { type: 'welcome', connection_id: conn.id, user: this.userJson(s.userId),
        session_expires_at: s.expiresAt, heartbeat_s: 15, ongoing_calls: ongoing, ice_servers: this.iceServers });
      return;
    }
    this.log.push({ from: conn.userId, msg: m });
    const ack = (extra) => this.send(conn, { type: 'ack', req_id: m.req_id, ...extra });
    const err = (code, message = code) => this.send(conn, { type: 'error', req_id: m.req_id, code, message });
    const c = m.call_id ? this.calls.get(m.call_id) : null;
    const other = (call) => (conn === call.callerConn ? call.calleeConn : call.callerConn);
    const pub = (call) => { const { callerConn, calleeConn, ...rest } = call; return { ...rest }; };
    switch (m.type) {
      case 'ping': this.send(conn, { type: 'pong' }); return;
      case 'refresh': {
        const tok = m.session_token ?? m.jwt;
        if (!this.refreshTokens.has(tok)) return err('invalid_credentials', 'refused');
        const s = this.sessions.get(conn.sessionKey);
        s.expiresAt = Date.now() + 7200_000;
        return ack({ session_expires_at: s.expiresAt });
      }
      case 'dial': {
        if (m.callee_id === conn.userId) return err('dial_myself');
        if (!this.users.has(m.callee_id)) return err('callee_not_found', 'no such user');
        const call = { call_id: uuid(), caller_id: conn.userId, callee_id: m.callee_id, is_video: m.is_video, state: 'ringing',
          created_at: Date.now(), accepted_at: null, connected_at: null, ended_at: null, end_result: null, ended_by: null,
          duration_ms: null, custom_items: m.custom_items ?? {}, callerConn: conn, calleeConn: null };
        this.calls.set(call.call_id, call);
        ack({ call: pub(call) });
        for (const k of this.userConns(m.callee_id)) this.send(k, { type: 'ringing', call: pub(call) });
        return;
      }
      case 'accept': {
        if (!c) return err('not_found');
        if (c.callee_id !== conn.userId) return err('forbidden');
        if (c.state !== 'ringing') return err('invalid_call_state');
        c.state = 'accepted'; c.accepted_at = Date.now(); c.calleeConn = conn;
        ack({ call: pub(c) });
        this.send(c.callerConn, { type: 'accepted', call: pub(c) });
        return;
      }
      case 'decline': case 'end': {
        if (!c) return err('not_found');
        if (c.state === 'ended') return err('invalid_call_state');
        const result = c.state === 'ringing' ? (conn.userId === c.caller_id ? 'canceled' : 'declined') : 'completed';
        return this.endCall(c, result, conn.userId, ack);
      }
      case 'signal': case 'media_state': {
        if (!c) return err('not_found');
        if (conn !== c.callerConn && conn !== c.calleeConn) return err('forbidden');
        if (c.state !== 'accepted' && c.state !== 'connected') return err('invalid_call_state');
        const peer = other(c);
        const delivered = !!peer && this.conns.includes(peer);
        ack({ delivered });
        if (!delivered) return;
        if (m.type === 'signal') this.send(peer, { type: 'signal', call_id: c.call_id, from_user_id: conn.userId, data: m.data });
        else this.send(peer, { type: 'remote_media_state', call_id: c.call_id, audio: m.audio, video: m.video });
        return;
      }
      case 'media_connected': {
        if (!c) return err('not_found');
        if (c.state === 'connected') return ack({ call: pub(c) });
        if (c.state !== 'accepted') return err('invalid_call_state');
        c.state = 'connected'; c.connected_at = Date.now();
        ack({ call: pub(c) });
        for (const k of [c.callerConn, c.calleeConn]) if (k && this.conns.includes(k)) this.send(k, { type: 'connected', call: pub(c) });
        return;
      }
      default: return err('invalid_request', `unknown type ${m.type}`);
    }
  }

  endCall(c, result, by, ack) {
    c.state = 'ended'; c.end_result = result; c.ended_by = by; c.ended_at = Date.now();
    c.duration_ms = c.connected_at ? c.ended_at - c.connected_at : 0;
    const { callerConn, calleeConn, ...pubCall } = c;
    ack?.({ call: pubCall });
    for (const k of this.conns) if (k.userId === c.caller_id || k.userId === c.callee_id) this.send(k, { type: 'ended', call: pubCall });
  }

  /** Messages of a type sent by a user (after hello). */
  sent(userId, type) { return this.log.filter((e) => e.from === userId && e.msg.type === type).map((e) => e.msg); }
}

export class FakeWebSocket {
  constructor(url, server) {
    this.url = url;
    this.server = server;
    this.readyState = 0;
    this.sent = [];
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    server.sockets.push(this);
    setTimeout(() => {
      if (this.readyState !== 0) return;
      if (server.refuse) { this.readyState = 3; this.onclose?.({ code: 1006, reason: '' }); return; }
      this.readyState = 1;
      server.accept(this);
      this.onopen?.({});
    }, 0);
  }
  send(text) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(text));
    setTimeout(() => this.server.receive(this, text), 0);
  }
  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.server.conns = this.server.conns.filter((c) => c.sock !== this);
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }
  _deliver(text) { if (this.readyState === 1) setTimeout(() => this.onmessage?.({ data: text }), 0); }
  _serverClose(code, reason) {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 1);
  }
}

// ------------------------------------------------------------------------------------------
// Media fakes

export class FakeTrack {
  constructor(kind) { this.kind = kind; this.enabled = true; this.stopped = false; this.id = uuid(); }
  stop() { this.stopped = true; }
}

export class FakeMediaStream {
  constructor(tracks = []) { this.tracks = [...tracks]; this.id = uuid(); }
  getTracks() { return [...this.tracks]; }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === 'audio'); }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === 'video'); }
  addTrack(t) { if (!this.tracks.includes(t)) this.tracks.push(t); }
}

export function fakeMediaDevices() {
  const md = {
    requests: [],
    async getUserMedia(c) {
      md.requests.push(c);
      const tracks = [];
      if (c.audio) tracks.push(new FakeTrack('audio'));
      if (c.video) tracks.push(new FakeTrack('video'));
      return new FakeMediaStream(tracks);
    },
  };
  return md;
}

/**
 * A peer connection with the signalling state machine of JSEP (no real SDP): offers and answers
 * are text, a candidate is emitted after each local description, and ICE "connects" once both
 * descriptions are set and a remote candidate was added.
 */
export class FakePeerConnection {
  static all = [];
  constructor(config) {
    this.config = config;
    this.signalingState = 'stable';
    this.iceConnectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.senders = [];
    this.transceivers = [];
    this.candidates = [];
    this.history = []; // what happened, in order
    this.closed = false;
    this.n = 0;
    this.iceGen = 0;
    this.needNegotiation = false;
    FakePeerConnection.all.push(this);
  }
  _queueNegotiation() {
    if (this.needNegotiation) return;
    this.needNegotiation = true;
    setTimeout(() => {
      if (this.closed || !this.needNegotiation) return;
      if (this.signalingState !== 'stable') return; // fired again when stable
      this.history.push('negotiationneeded');
      this.onnegotiationneeded?.({});
    }, 0);
  }
  addTrack(track, stream) {
    const sender = { track, replaceTrack: async (t) => { sender.track = t; } };
    this.senders.push(sender);
    this.transceivers.push({ sender, receiver: { track: { kind: track.kind } }, direction: 'sendrecv' });
    this._queueNegotiation();
    return sender;
  }
  addTransceiver(kind, init) {
    const sender = { track: null, replaceTrack: async (t) => { sender.track = t; } };
    this.transceivers.push({ sender, receiver: { track: { kind } }, direction: init?.direction ?? 'sendrecv' });
    this._queueNegotiation();
  }
  getTransceivers() { return this.transceivers; }
  restartIce() { this.iceGen++; this.history.push('restartIce'); this._queueNegotiation(); }
  async createOffer(opts) { if (opts?.iceRestart) this.iceGen++; return { type: 'offer', sdp: `offer ${++this.n} ice${this.iceGen}` }; }
  async setLocalDescription(desc) {
    await tick(1);
    if (this.closed) throw new Error('closed');
    if (desc?.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer') throw new Error('InvalidStateError: rollback');
      this.history.push('rollback');
      this.localDescription = null;
      this.signalingState = 'stable';
      return;
    }
    let type = desc?.type;
    if (!type) type = this.signalingState === 'have-remote-offer' ? 'answer' : 'offer';
    const sdp = desc?.sdp ?? `${type} ${++this.n} ice${this.iceGen} tracks=${this.senders.map((s) => s.track?.kind).join(',')}`;
    if (type === 'offer' && this.signalingState !== 'stable' && this.signalingState !== 'have-local-offer')
      throw new Error(`InvalidStateError: offer in ${this.signalingState}`);
    if (type === 'answer' && this.signalingState !== 'have-remote-offer') throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
    this.localDescription = { type, sdp };
    this.history.push(`local:${type}`);
    if (type === 'offer') { this.signalingState = 'have-local-offer'; this.needNegotiation = false; }
    else { this.signalingState = 'stable'; this.needNegotiation = false; this._stable(); } // the answer carries our tracks
    setTimeout(() => {
      if (this.closed) return;
      this.onicecandidate?.({ candidate: { candidate: `candidate:${this.n} 1 udp 1 127.0.0.1 ${9000 + this.n} typ host`, sdpMid: '0', sdpMLineIndex: 0 } });
      this.onicecandidate?.({ candidate: null });
    }, 1);
  }
  async setRemoteDescription(desc) {
    await tick(1);
    if (this.closed) throw new Error('closed');
    if (desc.type === 'offer' && this.signalingState !== 'stable') throw new Error(`InvalidStateError: remote offer in ${this.signalingState}`);
    if (desc.type === 'answer' && this.signalingState !== 'have-local-offer') throw new Error(`InvalidStateError: remote answer in ${this.signalingState}`);
    this.remoteDescription = desc;
    this.history.push(`remote:${desc.type}`);
    if (desc.type === 'offer') {
      this.signalingState = 'have-remote-offer';
      if (!this.gotTrack) {
        this.gotTrack = true;
        setTimeout(() => { if (!this.closed) this.ontrack?.({ track: new FakeTrack('audio'), streams: [new FakeMediaStream()] }); }, 0);
      }
    } else {
      this.signalingState = 'stable';
      if (!this.gotTrack) {
        this.gotTrack = true;
        setTimeout(() => { if (!this.closed) this.ontrack?.({ track: new FakeTrack('audio'), streams: [new FakeMediaStream()] }); }, 0);
      }
      this._stable();
    }
  }
  _stable() {
    if (this.needNegotiation) { this.needNegotiation = false; this._queueNegotiation(); }
    this._maybeConnect();
  }
  async addIceCandidate(c) {
    await tick(0);
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.candidates.push(c);
    this.history.push('candidate');
    this._maybeConnect();
  }
  _maybeConnect() {
    if (this.closed || this.iceConnectionState === 'connected') return;
    if (this.localDescription && this.remoteDescription && this.candidates.length && this.signalingState === 'stable') {
      this.setIceState('connected');
    }
  }
  setIceState(s) {
    this.iceConnectionState = s;
    setTimeout(() => this.oniceconnectionstatechange?.({}), 0);
  }
  close() { this.closed = true; this.signalingState = 'closed'; this.history.push('close'); }
}
