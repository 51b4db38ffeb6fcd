import { ParleyError, toParleyError } from './errors.js';
import { MediaSession } from './media.js';
import type { CallInfo, EndResult, Callback } from './types.js';

/** Where the call's media goes, and how it starts. */
export interface CallOption {
  /** A <video> (or <audio>) element that shows the local camera (muted). */
  localMediaView?: HTMLMediaElement | null;
  /** The element that plays the peer's audio and video. */
  remoteMediaView?: HTMLMediaElement | null;
  /** Start with the microphone on (default true). */
  audioEnabled?: boolean;
  /** Start with the camera on (default: the call is a video call). */
  videoEnabled?: boolean;
}

/** Every method is optional. */
export interface DirectCallListener {
  /** The call is established: the callee accepted (fires on the caller and on the accepting device). */
  onEstablished?(call: DirectCall): void;
  /** Media flows: the server's `connected`. */
  onConnected?(call: DirectCall): void;
  /** Once per call. */
  onEnded?(call: DirectCall, endResult: EndResult): void;
  onRemoteAudioSettingsChanged?(call: DirectCall): void;
  onRemoteVideoSettingsChanged?(call: DirectCall): void;
  /** The peer's connection dropped; the server holds the call for the reconnect grace. */
  onReconnecting?(call: DirectCall): void;
  onReconnected?(call: DirectCall): void;
  /** A signal that is not one of the SDK's media signals. */
  onSignal?(call: DirectCall, data: unknown): void;
  /** The local or remote stream changed (also shown in the call option's views). */
  onLocalStream?(call: DirectCall, stream: MediaStream | null): void;
  onRemoteStream?(call: DirectCall, stream: MediaStream): void;
}

/** What a call needs from its client (internal). */
export interface CallHost {
  request(message: Record<string, unknown>): Promise<Record<string, unknown>>;
  log(level: 'debug' | 'info' | 'warning' | 'error', message: string): void;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  peerConnectionClass(): typeof RTCPeerConnection | null;
  iceServers(): RTCIceServer[];
  eventTarget(): EventTarget | null;
  iceRestartDelayMs(): number;
  callEnded(call: DirectCall): void;
  newMediaStream(tracks: MediaStreamTrack[]): MediaStream | null;
}

function settle<T>(p: Promise<T>, cb?: Callback<T>): Promise<T> {
  if (cb) p.then((v) => cb(null, v), (e) => cb(toParleyError(e)));
  return p;
}

export class DirectCall {
  private host: CallHost;
  private _info: CallInfo;
  readonly isOutgoing: boolean;
  private _listener: DirectCallListener | null = null;
  private option: CallOption;
  private _audioEnabled: boolean;
  private _videoEnabled: boolean;
  private _remoteAudioEnabled = true;
  private _remoteVideoEnabled: boolean;
  private _ended = false;
  private established = false;
  private mediaConnectedSent = false;
  private media: MediaSession | null = null;
  private localStreamPromise: Promise<MediaStream | null> | null = null;
  private _localStream: MediaStream | null = null;
  private _remoteStream: MediaStream | null = null;
  private myUserId: string;

  /** @internal */
  constructor(host: CallHost, info: CallInfo, myUserId: string, option: CallOption = {}) {
    this.host = host;
    this._info = info;
    this.myUserId = myUserId;
    this.isOutgoing = info.callerId === myUserId;
    this.option = { ...option };
    this._audioEnabled = option.audioEnabled ?? true;
    this._videoEnabled = option.videoEnabled ?? info.isVideo;
    this._remoteVideoEnabled = info.isVideo;
  }

  // ---- snapshots -------------------------------------------------------------------------
  get callId(): string { return this._info.callId; }
  /** The server's call object as last seen. */
  get info(): CallInfo { return { ...this._info }; }
  get state(): CallInfo['state'] { return this._info.state; }
  get isVideoCall(): boolean { return this._info.isVideo; }
  get peerId(): string { return this.isOutgoing ? this._info.calleeId : this._info.callerId; }
  get callerId(): string { return this._info.callerId; }
  get calleeId(): string { return this._info.calleeId; }
  get isEnded(): boolean { return this._ended; }
  get endResult(): EndResult | null { return this._ended ? this._info.endResult ?? 'unknown' : null; }
  get isLocalAudioEnabled(): boolean { return this._audioEnabled; }
  get isLocalVideoEnabled(): boolean { return this._videoEnabled; }
  get isRemoteAudioEnabled(): boolean { return this._remoteAudioEnabled; }
  get isRemoteVideoEnabled(): boolean { return this._remoteVideoEnabled; }
  get localStream(): MediaStream | null { return this._localStream; }
  get remoteStream(): MediaStream | null { return this._remoteStream; }
  /** The RTCPeerConnection, once the call is established (for stats; do not renegotiate on it). */
  get peerConnection(): RTCPeerConnection | null { return this.media?.pc ?? null; }
  get listener(): DirectCallListener | null { return this._listener; }

  /** Replaces the call's listener; earlier events are not replayed. */
  setListener(listener: DirectCallListener | null): void { this._listener = listener; }

  setLocalMediaView(view: HTMLMediaElement | null): void {
    this.option.localMediaView = view;
    if (view && this._localStream) attach(view, this._localStream, true);
  }

  setRemoteMediaView(view: HTMLMediaElement | null): void {
    this.option.remoteMediaView = view;
    if (view && this._remoteStream) attach(view, this._remoteStream, false);
  }

  // ---- actions ---------------------------------------------------------------------------
  /** Takes the ringing call on this device. */
  accept(params: { callOption?: CallOption } = {}, callback?: Callback<void>): Promise<void> {
    if (params.callOption) {
      this.option = { ...this.option, ...params.callOption };
      if (params.callOption.audioEnabled !== undefined) this._audioEnabled = params.callOption.audioEnabled;
      if (params.callOption.videoEnabled !== undefined) this._videoEnabled = params.callOption.videoEnabled;
    }
    const run = async (): Promise<void> => {
      this.ensureEnded();
      this.acquireLocalMedia();
      const ack = await this.host.request({ type: 'accept', call_id: this.callId });
      this.host_updateFromAck(ack);
      this.becomeEstablished();
    };
    return settle(run(), callback);
  }

  /** Refuses the ringing call, for every device of the callee. */
  decline(callback?: Callback<void>): Promise<void> {
    return settle(this.endRequest('decline'), callback);
  }

  /** Hangs up: canceled (caller, ringing), declined (callee, ringing), else completed. */
  end(callback?: Callback<void>): Promise<void> {
    return settle(this.endRequest('end'), callback);
  }

  muteMicrophone(): void { this.setAudio(false); }
  unmuteMicrophone(): void { this.setAudio(true); }

  /** Turns the camera on (adds a video track when the call had none: renegotiates). */
  startVideo(): void {
    this._videoEnabled = true;
    const stream = this._localStream;
    const track = stream?.getVideoTracks()[0];
    if (track) {
      track.enabled = true;
    } else if (!this._ended) {
      this.host.getUserMedia({ video: true }).then((s) => {
        const t = s.getVideoTracks()[0];
        if (!t || this._ended) { t?.stop(); return; }
        t.enabled = this._videoEnabled;
        let local = this._localStream;
        if (local) local.addTrack(t);
        else local = this.host.newMediaStream([t]);
        if (local) this.setLocalStream(local);
        if (local) this.media?.addTrack(t, local);
      }, (e) => this.host.log('warning', `the camera could not start: ${String(e)}`));
    }
    this.sendMediaState();
  }

  stopVideo(): void {
    this._videoEnabled = false;
    for (const t of this._localStream?.getVideoTracks() ?? []) t.enabled = false;
    this.sendMediaState();
  }

  /** Sends app data to the peer's bound device; resolves false when the peer is away. */
  async sendSignal(data: unknown): Promise<boolean> {
    this.ensureEnded();
    const ack = await this.host.request({ type: 'signal', call_id: this.callId, data });
    return ack.delivered === true;
  }

  /** Reports media_connected (the SDK does it itself when ICE connects). */
  async reportMediaConnected(): Promise<void> {
    if (this.mediaConnectedSent) return;
    this.mediaConnectedSent = true;
    const ack = await this.host.request({ type: 'media_connected', call_id: this.callId });
    this.host_updateFromAck(ack);
  }

  /** Restarts ICE now (the SDK also does it on failure and on a network change). */
  restartIce(): void { this.media?.restartIce('requested by the app'); }

  // ---- internal --------------------------------------------------------------------------
  private ensureEnded(): void {
    if (this._ended) throw new ParleyError('invalid_call_state', 'the call has ended');
  }

  private async endRequest(type: 'end' | 'decline'): Promise<void> {
    if (this._ended) return;
    const ack = await this.host.request({ type, call_id: this.callId });
    this.host_updateFromAck(ack);
  }

  private host_updateFromAck(ack: Record<string, unknown>): void {
    const call = (ack as { call?: unknown }).call;
    if (call && typeof call === 'object') this._onEvent('update', call);
  }

  private setAudio(on: boolean): void {
    this._audioEnabled = on;
    for (const t of this._localStream?.getAudioTracks() ?? []) t.enabled = on;
    this.sendMediaState();
  }

  private sendMediaState(): void {
    if (!this.established || this._ended) return;
    this.host.request({ type: 'media_state', call_id: this.callId, audio: this._audioEnabled,
      video: this._videoEnabled }).catch((e) => this.host.log('warning', `media_state failed: ${String(e)}`));
  }

  /** @internal Starts getUserMedia for this call (once). */
  acquireLocalMedia(): Promise<MediaStream | null> {
    if (this.localStreamPromise) return this.localStreamPromise;
    const wantVideo = this._info.isVideo || this._videoEnabled;
    const get = async (): Promise<MediaStream | null> => {
      try {
        return await this.host.getUserMedia({ audio: true, video: wantVideo });
      } catch (e) {
        if (wantVideo) {
          this.host.log('warning', `camera and microphone refused (${String(e)}); trying the microphone only`);
          try { return await this.host.getUserMedia({ audio: true, video: false }); } catch { /* below */ }
        }
        this.host.log('warning', `no local media: ${String(e)}`);
        return null;
      }
    };
    this.localStreamPromise = get().then((s) => {
      if (!s) return null;
      if (this._ended) { for (const t of s.getTracks()) t.stop(); return null; }
      for (const t of s.getAudioTracks()) t.enabled = this._audioEnabled;
      for (const t of s.getVideoTracks()) t.enabled = this._videoEnabled;
      this.setLocalStream(s);
      return s;
    });
    return this.localStreamPromise;
  }

  private setLocalStream(s: MediaStream): void {
    this._localStream = s;
    if (this.option.localMediaView) attach(this.option.localMediaView, s, true);
    this.fire((l) => l.onLocalStream?.(this, s));
  }

  private becomeEstablished(): void {
    if (this.established || this._ended) return;
    this.established = true;
    this.fire((l) => l.onEstablished?.(this));
    this.startMedia();
    if (!this._audioEnabled || this._videoEnabled !== this._info.isVideo) this.sendMediaState();
  }

  private startMedia(): void {
    if (this.media || this._ended) return;
    const PC = this.host.peerConnectionClass();
    if (!PC) {
      this.host.log('warning', 'no RTCPeerConnection: media signals go to onSignal');
      return;
    }
    this.media = new MediaSession({
      RTCPeerConnection: PC,
      iceServers: this.host.iceServers(),
      polite: !this.isOutgoing,
      localStream: this.acquireLocalMedia(),
      isVideo: this._info.isVideo,
      send: (data) => {
        if (this._ended) return;
        this.host.request({ type: 'signal', call_id: this.callId, data }).then((ack) => {
          if (ack.delivered !== true) this.host.log('warning', `call ${this.callId}: a media signal was not delivered`);
        }, (e) => this.host.log('warning', `call ${this.callId}: a media signal was not sent: ${String(e)}`));
      },
      onMediaConnected: () => {
        this.reportMediaConnected().catch((e) => this.host.log('warning', `media_connected failed: ${String(e)}`));
      },
      onRemoteTrack: (track, streams) => {
        let s = streams[0] ?? this._remoteStream;
        if (!s) s = this.host.newMediaStream([track]) ?? undefined as unknown as MediaStream;
        else if (!s.getTracks().includes(track) && s === this._remoteStream) s.addTrack(track);
        if (!s) return;
        this._remoteStream = s;
        if (this.option.remoteMediaView) attach(this.option.remoteMediaView, s, false);
        this.fire((l) => l.onRemoteStream?.(this, s));
      },
      log: (level, m) => this.host.log(level, `call ${this.callId}: ${m}`),
      eventTarget: this.host.eventTarget(),
      iceRestartDelayMs: this.host.iceRestartDelayMs(),
    });
  }

  /** @internal Events of the server for this call. */
  _onEvent(type: string, payload: unknown): void {
    switch (type) {
      case 'update':
      case 'accepted':
      case 'connected':
      case 'ended': {
        const info = payload as Record<string, unknown> | null;
        if (info) this.applyInfo(info);
        if (type === 'accepted') this.becomeEstablished();
        if (type === 'connected') this.fire((l) => l.onConnected?.(this));
        if (this._info.state === 'ended' || type === 'ended') this.finish();
        break;
      }
      case 'remote_media_state': {
        const p = payload as { audio?: unknown; video?: unknown };
        const audio = p.audio === true, video = p.video === true;
        const audioChanged = audio !== this._remoteAudioEnabled, videoChanged = video !== this._remoteVideoEnabled;
        this._remoteAudioEnabled = audio;
        this._remoteVideoEnabled = video;
        if (audioChanged) this.fire((l) => l.onRemoteAudioSettingsChanged?.(this));
        if (videoChanged) this.fire((l) => l.onRemoteVideoSettingsChanged?.(this));
        break;
      }
      case 'peer_reconnecting': this.fire((l) => l.onReconnecting?.(this)); break;
      case 'peer_reconnected': this.fire((l) => l.onReconnected?.(this)); break;
      case 'signal': {
        const data = payload as Record<string, unknown> | null;
        const kind = data && typeof data === 'object' ? data.media : undefined;
        if (kind === 'offer' || kind === 'answer' || kind === 'candidate') {
          if (kind === 'offer' && !this.isOutgoing && !this.media) this.startMedia(); // the offer overtook the ack
          if (this.media) { void this.media.handleSignal(data as Record<string, unknown>); return; }
        }
        this.fire((l) => l.onSignal?.(this, data));
        break;
      }
      default: break;
    }
  }

  /** @internal The call ended while this device was away (not listed in a welcome). */
  _endUnknown(): void {
    this._info = { ...this._info, state: 'ended', endResult: 'unknown' };
    this.finish();
  }

  /** @internal The client is re-initialized or deauthenticated: drop the media quietly. */
  _dispose(): void {
    this.stopMedia();
  }

  private applyInfo(j: Record<string, unknown>): void {
    const n = j as Record<string, unknown>;
    if (n.call_id !== this.callId) return;
    // Convert with the same rules as the client (snake_case → camelCase).
    const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
    this._info = {
      ...this._info,
      state: typeof n.state === 'string' ? (n.state as CallInfo['state']) : this._info.state,
      acceptedAt: num(n.accepted_at) ?? this._info.acceptedAt,
      connectedAt: num(n.connected_at) ?? this._info.connectedAt,
      endedAt: num(n.ended_at) ?? this._info.endedAt,
      endResult: typeof n.end_result === 'string' ? (n.end_result as EndResult) : this._info.endResult,
      endedBy: typeof n.ended_by === 'string' ? n.ended_by : this._info.endedBy,
      durationMs: num(n.duration_ms) ?? this._info.durationMs,
    };
  }

  private finish(): void {
    if (this._ended) return;
    this._ended = true;
    if (this._info.state !== 'ended') this._info = { ...this._info, state: 'ended' };
    this.stopMedia();
    this.host.callEnded(this);
    const result = this._info.endResult ?? 'unknown';
    this.fire((l) => l.onEnded?.(this, result));
  }

  private stopMedia(): void {
    this.media?.close();
    this.media = null;
    for (const t of this._localStream?.getTracks() ?? []) t.stop();
    if (this.option.localMediaView && this.option.localMediaView.srcObject === this._localStream)
      this.option.localMediaView.srcObject = null;
    if (this.option.remoteMediaView && this._remoteStream && this.option.remoteMediaView.srcObject === this._remoteStream)
      this.option.remoteMediaView.srcObject = null;
  }

  private fire(f: (l: DirectCallListener) => void): void {
    const l = this._listener;
    if (!l) return;
    try { f(l); } catch (e) { this.host.log('error', `a call listener threw: ${String(e)}`); }
  }
}

function attach(view: HTMLMediaElement, stream: MediaStream, muted: boolean): void {
  try {
    if (muted) view.muted = true;
    if (view.srcObject !== stream) view.srcObject = stream;
    const p = view.play?.();
    if (p && typeof p.catch === 'function') p.catch(() => { /* autoplay policy; the page may call play() */ });
  } catch { /* not a media element */ }
}
