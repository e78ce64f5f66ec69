// An in-page fake of the Zorio signalling server, injected as `connect({WebSocket: FakeWebSocket})`.
// It answers with a real RTCPeerConnection of its own (a tone as its audio), so the SDK's media path
// is exercised for real, without the Django server. Test hooks live on `window.fake`.
(() => {
  const fake = {
    sockets: [],
    sent: [],
    pcs: {},
    seq: 0,
    registeredCalls: [],
    refuseAuth: false,
    rejectCreate: null, // an error code for call.create
  };
  window.fake = fake;

  function toneStream() {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 440;
    const dest = ctx.createMediaStreamDestination();
    osc.connect(dest);
    osc.start();
    return dest.stream;
  }

  async function serverPeer(callId) {
    const pc = new RTCPeerConnection();
    const stream = toneStream();
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    fake.pcs[callId] = pc;
    return pc;
  }

  function gatheredSdp(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve(pc.localDescription.sdp);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") resolve(pc.localDescription.sdp);
      });
    });
  }

  const later = (ms, fn) => setTimeout(fn, ms);

  const handlers = {
    auth(ws, f) {
      if (fake.refuseAuth) {
        ws._recv({ type: "error", code: "unauthorized", message: "bad token" });
        ws.close(4401);
        return;
      }
      ws._recv({ type: "registered", extension: "1001", user: { display_name: "Alice" }, calls: fake.registeredCalls });
    },
    async "call.create"(ws, f) {
      if (fake.rejectCreate) {
        ws._recv({ type: "error", req_id: f.req_id, code: fake.rejectCreate, message: "refused" });
        return;
      }
      const callId = "c" + ++fake.seq;
      ws._recv({ type: "call.trying", req_id: f.req_id, call_id: callId, uuid: "u" + fake.seq });
      const pc = await serverPeer(callId);
      await pc.setRemoteDescription({ type: "offer", sdp: f.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      ws._recv({ type: "sdp.answer", call_id: callId, sdp: await gatheredSdp(pc) });
      later(50, () => ws._recv({ type: "call.ringing", call_id: callId }));
      if (f.destination !== "5555") later(150, () => ws._recv({ type: "call.answered", call_id: callId }));
    },
    async "call.answer"(ws, f) {
      await fake.pcs[f.call_id].setRemoteDescription({ type: "answer", sdp: f.sdp });
      ws._recv({ type: "call.answered", call_id: f.call_id, req_id: f.req_id });
    },
    "call.hangup"(ws, f) { ws._recv({ type: "call.ended", call_id: f.call_id, reason: "hangup", req_id: f.req_id }); },
    "call.reject"(ws, f) { ws._recv({ type: "call.ended", call_id: f.call_id, reason: "rejected", req_id: f.req_id }); },
    "call.hold"(ws, f) { ws._recv({ type: "call.held", call_id: f.call_id, by: "local", req_id: f.req_id }); },
    "call.unhold"(ws, f) { ws._recv({ type: "call.resumed", call_id: f.call_id, by: "local", req_id: f.req_id }); },
    "call.mute"(ws, f) { ws._recv({ type: "call.muted", call_id: f.call_id, req_id: f.req_id }); },
    "call.unmute"(ws, f) { ws._recv({ type: "call.unmuted", call_id: f.call_id, req_id: f.req_id }); },
    "call.dtmf"(ws, f) {
      for (const d of f.digits) ws._recv({ type: "call.dtmf_received", call_id: f.call_id, digit: d });
    },
    "call.transfer"(ws, f) { ws._recv({ type: "call.ended", call_id: f.call_id, reason: "transferred" }); },
    "call.attended_transfer"(ws, f) {
      ws._recv({ type: "call.held", call_id: f.call_id, by: "local" });
      const callId = "c" + ++fake.seq;
      ws._recv({ type: "call.trying", req_id: f.req_id, call_id: callId, uuid: "u" + fake.seq });
      later(50, () => ws._recv({ type: "call.ringing", call_id: callId }));
      later(100, () => ws._recv({ type: "call.answered", call_id: callId }));
    },
    "call.complete_transfer"(ws, f) {
      for (const id of Object.keys(fake.live)) ws._recv({ type: "call.ended", call_id: id, reason: "transferred" });
    },
    async "sdp.offer"(ws, f) {
      const pc = await serverPeer(f.call_id);
      await pc.setRemoteDescription({ type: "offer", sdp: f.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      ws._recv({ type: "sdp.answer", call_id: f.call_id, sdp: await gatheredSdp(pc), req_id: f.req_id });
    },
    "call.record"(ws, f) {
      const state = { start: "recording", pause: "paused", resume: "recording", stop: "stopped" }[f.action];
      ws._recv({ type: "call.recording", call_id: f.call_id, state, req_id: f.req_id });
    },
    ping(ws, f) { ws._recv({ type: "pong", req_id: f.req_id }); },
  };
  fake.live = {};

  class FakeWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      fake.sockets.push(this);
      later(5, () => {
        this.readyState = 1;
        this.dispatchEvent(new Event("open"));
      });
    }
    send(data) {
      const frame = JSON.parse(data);
      fake.sent.push(frame);
      if (frame.call_id && !["call.hangup", "call.reject"].includes(frame.type)) fake.live[frame.call_id] = true;
      const handler = handlers[frame.type];
      if (handler) Promise.resolve(handler(this, frame)).catch((e) => console.error("fake", e));
    }
    close(code) {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      later(0, () => this.dispatchEvent(new CloseEvent("close", { code: code || 1000 })));
    }
    _recv(frame) {
      if (this.readyState !== 1) return;
      if (frame.type === "call.ended") delete fake.live[frame.call_id];
      if (frame.type === "call.trying") fake.live[frame.call_id] = true;
      this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(frame) }));
    }
  }
  window.FakeWebSocket = FakeWebSocket;

  fake.current = () => fake.sockets.filter((s) => s.readyState === 1).slice(-1)[0];
  /** Rings the page: an incoming call with a real server offer. */
  fake.incoming = async (from = "1002", name = "Bob") => {
    const callId = "in" + ++fake.seq;
    const pc = await serverPeer(callId);
    await pc.setLocalDescription(await pc.createOffer());
    fake.current()._recv({ type: "call.incoming", call_id: callId, uuid: "u" + fake.seq, from, from_name: name, to: "1001", sdp: await gatheredSdp(pc), headers: {} });
    fake.live[callId] = true;
    return callId;
  };
  /** The server drops the socket (abnormal close). */
  fake.drop = () => {
    const ws = fake.current();
    ws.readyState = 3;
    ws.dispatchEvent(new CloseEvent("close", { code: 1006 }));
  };
  fake.send = (frame) => fake.current()._recv(frame);
})();
