/** The browser media layer (injectable: `connect({media})`), and peer-connection helpers. */
import type { MediaLayer } from "./public-api";

export const ICE_GATHER_WAIT_MS = 1500;

export const browserMedia: MediaLayer = {
  getUserMedia: (constraints) => navigator.mediaDevices.getUserMedia(constraints),
  createPeerConnection: (config) => new RTCPeerConnection(config),
  enumerateDevices: () => navigator.mediaDevices.enumerateDevices(),
};

export function audioConstraints(deviceId: string | undefined): MediaStreamConstraints {
  return {
    audio: deviceId
      ? { deviceId: { exact: deviceId }, echoCancellation: true, noiseSuppression: true }
      : { echoCancellation: true, noiseSuppression: true },
    video: false,
  };
}

/** Resolves when ICE gathering completes or after `maxMs`, so the SDP sent carries the candidates. */
export function gathered(pc: RTCPeerConnection, maxMs = ICE_GATHER_WAIT_MS): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, maxMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export function stopStream(stream: MediaStream | null): void {
  stream?.getTracks().forEach((track) => track.stop());
}
