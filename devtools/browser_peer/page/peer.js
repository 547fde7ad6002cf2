// A Visio-like web participant, for the tests: livekit-client with the room and
// publish options of Visio's web app, Chromium's fake camera and microphone, and
// counters the Python driver reads through `window.visioPeer`.
//
// Everything the driver calls returns plain JSON values (Playwright's evaluate
// serialises them); failures throw, so the driver sees them as errors.

import {
  Room,
  RoomEvent,
  Track,
  VideoPresets,
} from 'livekit-client';

// Visio's web app (src/frontend/src/features/rooms/components/Conference.tsx):
// adaptive stream, dynacast, VP9, with livekit-client's defaults for the rest, which
// are spelled out here: a VP8 backup codec and simulcast. The capture resolution is
// the user's choice (`videoPublishResolution`, a VideoPresets name), by default
// livekit-client's (720p at 30 fps).
function roomOptions(resolution) {
  const preset = resolution ? VideoPresets[resolution] : undefined;
  if (resolution && !preset) throw new Error(`unknown video preset ${resolution}`);
  return {
    adaptiveStream: true,
    dynacast: true,
    publishDefaults: {
      videoCodec: 'vp9',
      backupCodec: true,
      simulcast: true,
    },
    videoCaptureDefaults: { resolution: preset ? preset.resolution : undefined },
  };
}

const CHAT_TOPIC = 'lk.chat';
const LEGACY_CHAT_TOPIC = 'lk-chat-topic';
const REACTION_TYPE = 'reactionReceived';

const state = {
  room: null,
  // Every chat message as it arrived, in either form; `messages()` is what the web
  // app would show (streams, plus legacy packets not marked `ignoreLegacy`).
  chatStreams: [],
  legacyChat: [],
  // Reliable user packets with no topic (notifications: reactions, ...), decoded.
  notifications: [],
  // Data packets by topic ('' for none), counted.
  dataByTopic: {},
  attributes: {},
  log: [],
  videoElements: new Map(),
};

function note(text) {
  state.log.push(`${(performance.now() / 1000).toFixed(2)} ${text}`);
  if (state.log.length > 200) state.log.splice(0, 50);
}

function decodeJson(payload) {
  try {
    const value = JSON.parse(new TextDecoder().decode(payload));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function onData(payload, participant, _kind, topic) {
  const key = topic || '';
  state.dataByTopic[key] = (state.dataByTopic[key] || 0) + 1;
  const sender = participant ? participant.identity : '';
  const body = decodeJson(payload);
  if (key === LEGACY_CHAT_TOPIC && body) {
    state.legacyChat.push({
      sender,
      id: String(body.id ?? ''),
      message: String(body.message ?? ''),
      ignoreLegacy: body.ignoreLegacy === true,
    });
  } else if (key === '' && body) {
    state.notifications.push({ sender, type: String(body.type ?? ''), data: body.data ?? null });
  }
}

function onChatStream(reader, participantInfo) {
  const info = reader.info;
  reader
    .readAll()
    .then((text) => {
      state.chatStreams.push({ sender: participantInfo.identity, id: info.id, message: text });
    })
    .catch((error) => note(`chat stream ${info.id} failed: ${error}`));
}

// Adaptive stream only sends a subscriber the layers its visible elements need:
// each remote video is attached to a visible element, as a web client shows it.
function attach(track, publication, participant) {
  const element = track.attach();
  element.muted = true;
  if (track.kind === Track.Kind.Video) {
    element.width = 320;
    element.height = 180;
    element.style.width = '320px';
    element.style.height = '180px';
    state.videoElements.set(publication.trackSid, element);
  }
  element.dataset.participant = participant.identity;
  element.dataset.trackSid = publication.trackSid;
  document.getElementById('remote').appendChild(element);
  note(`subscribed ${participant.identity} ${track.kind} ${publication.trackSid}`);
}

function detach(track, publication) {
  for (const element of track.detach()) element.remove();
  state.videoElements.delete(publication.trackSid);
}

async function connect(url, token, options = {}) {
  if (state.room) throw new Error('already connected');
  const settings = roomOptions(options.resolution);
  const room = new Room(settings);
  state.room = room;
  room
    .on(RoomEvent.TrackSubscribed, attach)
    .on(RoomEvent.TrackUnsubscribed, detach)
    .on(RoomEvent.DataReceived, onData)
    .on(RoomEvent.Disconnected, (reason) => note(`disconnected ${reason}`))
    .on(RoomEvent.Reconnecting, () => note('reconnecting'))
    .on(RoomEvent.Reconnected, () => note('reconnected'));
  room.registerTextStreamHandler(CHAT_TOPIC, onChatStream);
  await room.connect(url, token, { autoSubscribe: true });
  note(`connected as ${room.localParticipant.identity}`);
  // Chromium's fake devices (a moving test card and a beep), turned on as the web
  // app's <LiveKitRoom audio video> does, with the room's capture and publish options.
  await room.localParticipant.setMicrophoneEnabled(true);
  await room.localParticipant.setCameraEnabled(true);
  note('published camera and microphone');
  return { identity: room.localParticipant.identity, sid: room.localParticipant.sid };
}

function requireRoom() {
  if (!state.room) throw new Error('not connected');
  return state.room;
}

function codecOf(report, stat) {
  const codec = stat.codecId ? report.get(stat.codecId) : undefined;
  return codec ? codec.mimeType : '';
}

async function inboundOf(track) {
  const report = await track.getRTCStatsReport();
  const result = {
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    framesDecoded: 0,
    framesPerSecond: 0,
    frameWidth: 0,
    frameHeight: 0,
    totalSamplesReceived: 0,
    concealedSamples: 0,
    audioLevel: 0,
    mimeType: '',
  };
  if (!report) return result;
  report.forEach((stat) => {
    if (stat.type !== 'inbound-rtp') return;
    result.bytesReceived += stat.bytesReceived || 0;
    result.packetsReceived += stat.packetsReceived || 0;
    result.packetsLost += stat.packetsLost || 0;
    result.framesDecoded += stat.framesDecoded || 0;
    result.framesPerSecond = Math.max(result.framesPerSecond, stat.framesPerSecond || 0);
    result.frameWidth = Math.max(result.frameWidth, stat.frameWidth || 0);
    result.frameHeight = Math.max(result.frameHeight, stat.frameHeight || 0);
    result.totalSamplesReceived += stat.totalSamplesReceived || 0;
    result.concealedSamples += stat.concealedSamples || 0;
    result.audioLevel = Math.max(result.audioLevel, stat.audioLevel || 0);
    result.mimeType = result.mimeType || codecOf(report, stat);
  });
  return result;
}

async function outboundOf(track) {
  const report = await track.getRTCStatsReport();
  const layers = [];
  if (report) {
    report.forEach((stat) => {
      if (stat.type !== 'outbound-rtp') return;
      layers.push({
        rid: stat.rid || '',
        mimeType: codecOf(report, stat),
        bytesSent: stat.bytesSent || 0,
        framesEncoded: stat.framesEncoded || 0,
        framesPerSecond: stat.framesPerSecond || 0,
        frameWidth: stat.frameWidth || 0,
        frameHeight: stat.frameHeight || 0,
        scalabilityMode: stat.scalabilityMode || '',
        qualityLimitationReason: stat.qualityLimitationReason || '',
        active: stat.active !== false,
      });
    });
  }
  return layers;
}

async function stats() {
  const room = requireRoom();
  const remote = [];
  for (const participant of room.remoteParticipants.values()) {
    for (const publication of participant.trackPublications.values()) {
      const entry = {
        participant: participant.identity,
        sid: publication.trackSid,
        kind: publication.kind,
        source: publication.source,
        subscribed: publication.isSubscribed,
        mimeType: publication.mimeType || '',
      };
      if (publication.track) Object.assign(entry, { inbound: await inboundOf(publication.track) });
      remote.push(entry);
    }
  }
  const local = [];
  for (const publication of room.localParticipant.trackPublications.values()) {
    if (!publication.track) continue;
    local.push({
      sid: publication.trackSid,
      kind: publication.kind,
      source: publication.source,
      mimeType: publication.mimeType || '',
      outbound: await outboundOf(publication.track),
    });
  }
  const participants = {};
  for (const participant of room.remoteParticipants.values()) {
    participants[participant.identity] = {
      name: participant.name || '',
      attributes: { ...participant.attributes },
    };
  }
  return {
    state: room.state,
    identity: room.localParticipant.identity,
    attributes: { ...room.localParticipant.attributes },
    participants,
    remote,
    local,
    chatStreams: state.chatStreams,
    legacyChat: state.legacyChat,
    messages: messages(),
    notifications: state.notifications,
    dataByTopic: state.dataByTopic,
    log: state.log.slice(-40),
  };
}

function messages() {
  const shown = [];
  const seen = new Set();
  const keep = (entry) => {
    if (entry.id && seen.has(entry.id)) return;
    if (entry.id) seen.add(entry.id);
    shown.push({ sender: entry.sender, id: entry.id, message: entry.message });
  };
  state.chatStreams.forEach(keep);
  state.legacyChat.filter((entry) => !entry.ignoreLegacy).forEach(keep);
  return shown;
}

// Chat as the web app sends it: a `lk.chat` text stream, and the legacy packet under
// the same id, marked so that current clients drop it.
async function chat(text) {
  const room = requireRoom();
  const info = await room.localParticipant.sendText(text, { topic: CHAT_TOPIC });
  const legacy = { id: info.id, timestamp: Date.now(), message: text, ignoreLegacy: true };
  await room.localParticipant.publishData(new TextEncoder().encode(JSON.stringify(legacy)), {
    reliable: true,
    topic: LEGACY_CHAT_TOPIC,
  });
  return info.id;
}

async function react(emoji) {
  const room = requireRoom();
  const body = { type: REACTION_TYPE, data: { emoji } };
  await room.localParticipant.publishData(new TextEncoder().encode(JSON.stringify(body)), {
    reliable: true,
  });
}

// In Visio the backend sets `handRaisedAt` (toggle-hand API); here the page sets it
// itself, which its token must allow (canUpdateOwnMetadata).
async function raiseHand(raised = true) {
  const room = requireRoom();
  const value = raised ? new Date().toISOString() : '';
  await room.localParticipant.setAttributes({ handRaisedAt: value });
  return value;
}

async function close() {
  const room = state.room;
  state.room = null;
  if (room) await room.disconnect();
}

window.visioPeer = { connect, stats, chat, react, raiseHand, close };

// A page opened with ?url=…&token=… joins by itself (handy by hand in a browser).
const params = new URLSearchParams(window.location.search);
if (params.get('url') && params.get('token')) {
  const options = { resolution: params.get('resolution') || undefined };
  connect(params.get('url'), params.get('token'), options).catch((error) => note(`connect failed: ${error}`));
}
document.title = 'visio browser peer (ready)';
