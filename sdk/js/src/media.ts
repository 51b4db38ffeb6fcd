/**
 * The WebRTC side of a call: one RTCPeerConnection, perfect negotiation (the caller is
 * impolite, the callee polite), trickle ICE over `signal`, ICE restart on failure and on
 * network change.
 *
 * Signal data, compatible with the C++ SDK (extra keys are ignored by it):
 *   {"media": "offer",  "sdp": "..."}
 *   {"media": "answer", "sdp": "..."}
 *   {"media": "candidate", "candidate": "candidate:...", "sdp_mid": "0", "sdp_mline_index": 0}
 */

export interface MediaDeps {
  RTCPeerConnection: typeof RTCPeerConnection;
  iceServers: RTCIceServer[];
  polite: boolean;
  /** The call's local stream (may resolve to null: no camera/microphone, or refused). */
  localStream: Promise<MediaStream | null>;
  isVideo: boolean;
  send(data: Record<string, unknown>): void;
  onMediaConnected(): void;
  onRemoteTrack(track: MediaStreamTrack, streams: readonly MediaStream[]): void;
  log(level: 'debug' | 'info' | 'warning' | 'error', message: string): void;
  /** Where to listen for 'online' (window in a browser); null: none. */
  eventTarget: EventTarget | null;
  iceRestartDelayMs: number;
}

export class MediaSession {
  pc: RTCPeerConnection | null = null;
  private deps: MediaDeps;
  private chain: Promise<void>;
  private makingOffer = false;
  private ignoreOffer = false;
  private remoteDescriptionSet = false;
  /** The callee waits for the caller's first offer before it offers anything itself. */
  private mayOffer: boolean;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private connectedReported = false;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private onOnline = (): void => this.restartIce('network change');
  private sendersByKind = new Map<string, RTCRtpSender>();

  constructor(deps: MediaDeps) {
    this.deps = deps;
    this.mayOffer = !deps.polite;
    this.chain = this.start().catch((e) => this.deps.log('error', `media start failed: ${String(e)}`));
  }

  private async start(): Promise<void> {
    const stream = await this.deps.localStream;
    if (this.closed) return;
    const pc = new this.deps.RTCPeerConnection({ iceServers: this.deps.iceServers });
    this.pc = pc;
    pc.onicecandidate = (e: RTCPeerConnectionIceEvent) => {
      const c = e.candidate;
      if (!c || !c.candidate) return; // end of candidates: nothing to send
      this.deps.send({ media: 'candidate', candidate: c.candidate, sdp_mid: c.sdpMid ?? null,
        sdp_mline_index: c.sdpMLineIndex ?? null });
    };
    pc.onnegotiationneeded = () => { void this.negotiate(); };
    pc.oniceconnectionstatechange = () => this.iceStateChanged();
    pc.ontrack = (e: RTCTrackEvent) => this.deps.onRemoteTrack(e.track, e.streams ?? []);
    const kinds = new Set<string>();
    if (stream) {
      for (const track of stream.getTracks()) {
        this.sendersByKind.set(track.kind, pc.addTrack(track, stream));
        kinds.add(track.kind);
      }
    }
    // Receive what we do not send (no microphone, no camera), so the peer's media still arrives.
    if (!this.deps.polite) {
      if (!kinds.has('audio')) pc.addTransceiver?.('audio', { direction: 'recvonly' });
      if (this.deps.isVideo && !kinds.has('video')) pc.addTransceiver?.('video', { direction: 'recvonly' });
    }
    this.deps.eventTarget?.addEventListener('online', this.onOnline);
  }

  /** Adds a track later (e.g. startVideo on an audio call): renegotiates. */
  addTrack(track: MediaStreamTrack, stream: MediaStream): void {
    this.chain = this.chain.then(() => {
      const pc = this.pc;
      if (!pc || this.closed) return;
      const existing = this.sendersByKind.get(track.kind);
      if (existing) { void existing.replaceTrack(track); return; }
      // Reuse a transceiver of that kind that sends nothing yet, else add one.
      const t = pc.getTransceivers?.().find((x) => x.receiver.track?.kind === track.kind && !x.sender.track);
      if (t) {
        void t.sender.replaceTrack(track);
        t.direction = 'sendrecv';
        this.sendersByKind.set(track.kind, t.sender);
      } else {
        this.sendersByKind.set(track.kind, pc.addTrack(track, stream));
      }
    });
  }

  private async negotiate(): Promise<void> {
    const pc = this.pc;
    if (!pc || this.closed || !this.mayOffer) return;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      const d = pc.localDescription;
      if (d && d.type === 'offer') this.deps.send({ media: 'offer', sdp: d.sdp });
    } catch (e) {
      this.deps.log('warning', `could not make an offer: ${String(e)}`);
    } finally {
      this.makingOffer = false;
    }
  }

  /** A media signal from the peer, handled in order. Returns when it was applied. */
  handleSignal(data: Record<string, unknown>): Promise<void> {
    const next = this.chain.then(() => this.apply(data)).catch((e) =>
      this.deps.log('warning', `a media signal failed: ${String(e)}`));
    this.chain = next;
    return next;
  }

  private async apply(data: Record<string, unknown>): Promise<void> {
    const pc = this.pc;
    if (!pc || this.closed) return;
    const kind = data.media;
    if (kind === 'offer' || kind === 'answer') {
      const sdp = typeof data.sdp === 'string' ? data.sdp : '';
      const offerCollision = kind === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      this.ignoreOffer = !this.deps.polite && offerCollision;
      if (this.ignoreOffer) {
        this.deps.log('info', 'offer collision: the impolite side ignores the peer\'s offer');
        return;
      }
      if (kind === 'answer' && pc.signalingState !== 'have-local-offer') {
        this.deps.log('info', `an answer in state ${pc.signalingState} was ignored`);
        return;
      }
      if (offerCollision) await pc.setLocalDescription({ type: 'rollback' });
      await pc.setRemoteDescription({ type: kind, sdp });
      this.remoteDescriptionSet = true;
      if (kind === 'offer') {
        this.mayOffer = true;
        await pc.setLocalDescription();
        const d = pc.localDescription;
        if (d) this.deps.send({ media: 'answer', sdp: d.sdp });
      }
      const pending = this.pendingCandidates;
      this.pendingCandidates = [];
      for (const c of pending) await this.addCandidate(c);
      return;
    }
    if (kind === 'candidate') {
      const candidate = typeof data.candidate === 'string' ? data.candidate : '';
      const mid = typeof data.sdp_mid === 'string' ? data.sdp_mid : null;
      const index = typeof data.sdp_mline_index === 'number' ? data.sdp_mline_index : (mid === null ? 0 : null);
      const init: RTCIceCandidateInit = { candidate, sdpMid: mid, sdpMLineIndex: index };
      if (!this.remoteDescriptionSet) this.pendingCandidates.push(init);
      else await this.addCandidate(init);
    }
  }

  private async addCandidate(c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc?.addIceCandidate(c);
    } catch (e) {
      if (!this.ignoreOffer) this.deps.log('warning', `a remote candidate was refused: ${String(e)}`);
    }
  }

  private iceStateChanged(): void {
    const pc = this.pc;
    if (!pc || this.closed) return;
    const s = pc.iceConnectionState;
    this.deps.log('debug', `ice connection state: ${s}`);
    if (s === 'connected' || s === 'completed') {
      this.clearRestartTimer();
      if (!this.connectedReported) {
        this.connectedReported = true;
        this.deps.onMediaConnected();
      }
    } else if (s === 'failed') {
      this.clearRestartTimer();
      this.restartIce('ice failed');
    } else if (s === 'disconnected') {
      if (!this.restartTimer) {
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          const now = this.pc?.iceConnectionState;
          if (now === 'disconnected' || now === 'failed') this.restartIce('ice disconnected');
        }, this.deps.iceRestartDelayMs);
      }
    }
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** Restarts ICE (new candidates, same call): on failure, and on a network change. */
  restartIce(reason = 'requested'): void {
    const pc = this.pc;
    if (!pc || this.closed || !this.remoteDescriptionSet) return;
    this.deps.log('info', `ice restart: ${reason}`);
    this.mayOffer = true;
    if (typeof pc.restartIce === 'function') {
      pc.restartIce(); // fires negotiationneeded: the offer goes out through negotiate()
    } else {
      void (async () => {
        try {
          this.makingOffer = true;
          const offer = await pc.createOffer({ iceRestart: true });
          await pc.setLocalDescription(offer);
          this.deps.send({ media: 'offer', sdp: offer.sdp });
        } catch (e) {
          this.deps.log('warning', `ice restart failed: ${String(e)}`);
        } finally {
          this.makingOffer = false;
        }
      })();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearRestartTimer();
    this.deps.eventTarget?.removeEventListener('online', this.onOnline);
    try { this.pc?.close(); } catch { /* ignore */ }
  }
}
