// Test helpers injected into every e2e page: event recording and audio energy measurement.
(() => {
  window.zorioEvents = [];
  window.zorioRecord = (phone) => {
    const names = ["registered", "unregistered", "reconnecting", "incoming_call", "call_ringing", "call_answered",
      "call_hangup", "call_held", "call_resumed", "muted", "unmuted", "error"];
    for (const name of names) {
      phone.on(name, (p) => window.zorioEvents.push({
        name,
        state: p && p.call ? p.call.state : null,
        reason: p && p.reason ? p.reason : null,
        by: p && p.by ? p.by : null,
        code: name === "error" ? p.code : null,
      }));
    }
  };
  /** RMS energy of a MediaStream over `ms`, through a WebAudio analyser. */
  window.zorioEnergy = async (stream, ms = 600) => {
    const ctx = (window.__zorioCtx ||= new AudioContext());
    await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let sum = 0, n = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 40));
      analyser.getFloatTimeDomainData(buf);
      for (const v of buf) { sum += v * v; n++; }
    }
    source.disconnect();
    return Math.sqrt(sum / Math.max(1, n));
  };
  /** Energy of the remote audio of the phone's first (or given) call. */
  window.zorioRemoteEnergy = (ms = 600, index = 0) => {
    const call = window.phone.calls[index];
    if (!call || !call.debug || !call.debug.remoteStream) return -1;
    return window.zorioEnergy(call.debug.remoteStream, ms);
  };
})();
