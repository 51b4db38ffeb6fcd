// The Parley demo page: sign in with a user id (demo token endpoint), call another user with
// video, accept/decline, mute, video on/off, hang up, and the call log. No framework.
import Parley from '/sdk/parley.js';

const $ = (id) => document.getElementById(id);
const el = {
  userId: $('user-id'), signIn: $('sign-in'), me: $('me'), connection: $('connection'),
  dialPanel: $('dial-panel'), calleeId: $('callee-id'), call: $('call'),
  incomingPanel: $('incoming-panel'), incomingText: $('incoming-text'), accept: $('accept'), decline: $('decline'),
  state: $('state'), peer: $('peer'), localVideo: $('local-video'), remoteVideo: $('remote-video'),
  mute: $('mute'), videoToggle: $('video-toggle'), hangup: $('hangup'),
  callLog: $('call-log'), refreshLog: $('refresh-log'), error: $('error'),
};

let appId = null;
let current = null; // the DirectCall on screen
let ringingCall = null;

function showError(e) {
  el.error.textContent = e ? (e.code ? `${e.code}: ${e.message}` : String(e.message || e)) : '';
  if (e) console.error(e);
}

function setState(text) { el.state.textContent = text; }

function updateControls() {
  const live = current && !current.isEnded;
  el.mute.disabled = !live;
  el.videoToggle.disabled = !live;
  el.hangup.disabled = !live;
  el.call.disabled = !!live || Parley.connectionState !== 'connected';
  el.mute.textContent = live && !current.isLocalAudioEnabled ? 'Unmute' : 'Mute';
  el.videoToggle.textContent = live && !current.isLocalVideoEnabled ? 'Start video' : 'Stop video';
  el.incomingPanel.hidden = !(ringingCall && !ringingCall.isEnded);
  el.peer.textContent = live ? `with ${current.peerId}` : '';
}

const callOption = () => ({ localMediaView: el.localVideo, remoteMediaView: el.remoteVideo, audioEnabled: true, videoEnabled: true });

function callListener() {
  return {
    onEstablished: () => { setState('connecting'); updateControls(); },
    onConnected: () => { setState('connected'); updateControls(); },
    onEnded: (call, result) => {
      setState(`ended: ${result}`);
      if (ringingCall === call) ringingCall = null;
      if (current === call) current = null;
      el.remoteVideo.srcObject = null;
      el.localVideo.srcObject = null;
      updateControls();
      refreshLog();
    },
    onRemoteAudioSettingsChanged: (call) => { el.peer.textContent = `with ${call.peerId}${call.isRemoteAudioEnabled ? '' : ' (muted)'}`; },
    onRemoteVideoSettingsChanged: (call) => { el.remoteVideo.style.visibility = call.isRemoteVideoEnabled ? 'visible' : 'hidden'; },
    onReconnecting: () => setState('reconnecting'),
    onReconnected: () => setState(current && current.state === 'connected' ? 'connected' : 'connecting'),
  };
}

async function getAppId() {
  const res = await fetch('/demo/v1/app');
  if (!res.ok) throw new Error(`GET /demo/v1/app: HTTP ${res.status} (is parleyd running with --demo?)`);
  return (await res.json()).app_id;
}

async function signIn() {
  showError(null);
  const userId = el.userId.value.trim();
  if (!userId) { showError(new Error('type a user id')); return; }
  el.signIn.disabled = true;
  try {
    if (!appId) {
      appId = await getAppId();
      Parley.init(appId, { apiUrl: location.origin });
      Parley.addListener({
        onRinging: (call) => {
          if (current && !current.isEnded) { call.decline().catch(showError); return; } // busy
          ringingCall = call;
          call.setListener(callListener());
          el.incomingText.textContent = `Incoming ${call.isVideoCall ? 'video ' : ''}call from ${call.callerId}`;
          setState('ringing');
          updateControls();
        },
        onConnected: () => { el.connection.textContent = `connected as ${Parley.currentUser?.userId}`; updateControls(); },
        onReconnecting: (n) => { el.connection.textContent = `reconnecting (attempt ${n})…`; updateControls(); },
        onDisconnected: (info) => { el.connection.textContent = `disconnected (${info.reason})`; updateControls(); },
      });
    }
    const res = await fetch(`/demo/v1/apps/${encodeURIComponent(appId)}/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user_id: userId }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error?.message || `HTTP ${res.status}`), { code: body.error?.code });
    const user = await Parley.authenticate({ userId: body.user_id, accessToken: body.access_token });
    await Parley.connectWebSocket();
    el.me.textContent = `signed in as ${user.userId}`;
    el.connection.textContent = `connected as ${user.userId}`;
    el.dialPanel.hidden = false;
    setState('idle');
    updateControls();
    refreshLog();
  } catch (e) {
    showError(e);
  } finally {
    el.signIn.disabled = false;
  }
}

async function dial() {
  showError(null);
  const userId = el.calleeId.value.trim();
  if (!userId) { showError(new Error('type the callee\'s user id')); return; }
  el.call.disabled = true;
  try {
    setState('dialing');
    current = await Parley.dial({ userId, isVideoCall: true, callOption: callOption(), listener: callListener() });
    if (!current.isEnded) setState(current.state === 'ringing' ? 'ringing' : current.state);
  } catch (e) {
    setState('idle');
    showError(e);
  }
  updateControls();
}

async function accept() {
  const call = ringingCall;
  if (!call) return;
  ringingCall = null;
  current = call;
  updateControls();
  try {
    await call.accept({ callOption: callOption() });
  } catch (e) {
    showError(e);
    current = null;
  }
  updateControls();
}

async function decline() {
  const call = ringingCall;
  if (!call) return;
  try { await call.decline(); } catch (e) { showError(e); }
  updateControls();
}

async function hangup() {
  if (!current) return;
  try { await current.end(); } catch (e) { showError(e); }
  updateControls();
}

function toggleMute() {
  if (!current) return;
  if (current.isLocalAudioEnabled) current.muteMicrophone(); else current.unmuteMicrophone();
  updateControls();
}

function toggleVideo() {
  if (!current) return;
  if (current.isLocalVideoEnabled) current.stopVideo(); else current.startVideo();
  updateControls();
}

const fmtTime = (ms) => (ms ? new Date(ms).toLocaleString() : '');
const fmtDuration = (ms) => (ms ? `${Math.round(ms / 1000)} s` : '');

async function refreshLog() {
  if (!Parley.sessionKey) return;
  try {
    const page = await Parley.callLog({ limit: 20 });
    const tbody = el.callLog.tBodies[0];
    tbody.replaceChildren(...page.calls.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.callId = c.callId;
      for (const v of [fmtTime(c.createdAt), c.callerId, c.calleeId, c.isVideo ? 'yes' : 'no', c.endResult ?? c.state, fmtDuration(c.durationMs)]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.appendChild(td);
      }
      return tr;
    }));
  } catch (e) {
    showError(e);
  }
}

el.signIn.addEventListener('click', signIn);
el.userId.addEventListener('keydown', (e) => { if (e.key === 'Enter') signIn(); });
el.call.addEventListener('click', dial);
el.calleeId.addEventListener('keydown', (e) => { if (e.key === 'Enter') dial(); });
el.accept.addEventListener('click', accept);
el.decline.addEventListener('click', decline);
el.hangup.addEventListener('click', hangup);
el.mute.addEventListener('click', toggleMute);
el.videoToggle.addEventListener('click', toggleVideo);
el.refreshLog.addEventListener('click', refreshLog);
updateControls();
