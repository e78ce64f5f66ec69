/**
 * Sound under browser autoplay rules: the ringtone and each call's remote <audio> element.
 * A blocked play() is reported once (`audio_autoplay_blocked`) and retried on the first user gesture.
 */

const GESTURES = ["pointerdown", "keydown", "touchend"] as const;

type SinkAudio = HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };

/** Whether this browser can route audio to a chosen speaker. */
export const canChooseSpeaker = (): boolean => typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

export class AudioManager {
  blocked = false;
  private readonly ringtone: SinkAudio;
  private ringing = false;
  private readonly waiting = new Set<HTMLAudioElement>();
  private readonly elements = new Set<SinkAudio>();
  private sinkId: string | undefined;

  constructor(
    ringtoneUrl: string,
    private readonly onBlocked: (what: string) => void,
    private readonly onChange: () => void,
  ) {
    this.ringtone = new Audio(ringtoneUrl) as SinkAudio;
    this.ringtone.loop = true;
    this.ringtone.preload = "auto";
    this.elements.add(this.ringtone);
  }

  startRinging(): void {
    if (this.ringing) return;
    this.ringing = true;
    this.ringtone.currentTime = 0;
    this.play(this.ringtone, "ringtone");
  }

  stopRinging(): void {
    this.ringing = false;
    this.waiting.delete(this.ringtone);
    this.ringtone.pause();
  }

  get isRinging(): boolean {
    return this.ringing;
  }

  /** A new <audio> element playing `stream` (Chrome also needs it for WebAudio analysis of the stream). */
  attachRemote(stream: MediaStream): HTMLAudioElement {
    const audio = new Audio() as SinkAudio;
    audio.autoplay = true;
    audio.srcObject = stream;
    this.elements.add(audio);
    if (this.sinkId && audio.setSinkId) audio.setSinkId(this.sinkId).catch(() => undefined);
    this.play(audio, "remote");
    return audio;
  }

  detach(audio: HTMLAudioElement | null): void {
    if (!audio) return;
    audio.pause();
    audio.srcObject = null;
    this.elements.delete(audio);
    this.waiting.delete(audio);
  }

  /** Routes every element to `deviceId` (undefined = default); on failure all stay on the previous sink. */
  async setSink(deviceId: string | undefined): Promise<void> {
    const previous = this.sinkId;
    const elements = [...this.elements].filter((el) => el.setSinkId);
    try {
      await Promise.all(elements.map((el) => el.setSinkId!(deviceId ?? "")));
    } catch (err) {
      await Promise.all(elements.map((el) => el.setSinkId!(previous ?? "").catch(() => undefined)));
      throw err;
    }
    this.sinkId = deviceId;
  }

  /** Retries everything that was blocked; call from a user gesture. */
  async unlock(): Promise<void> {
    const retry = [...this.waiting];
    this.waiting.clear();
    for (const el of retry) {
      if (el === this.ringtone && !this.ringing) continue;
      try {
        await el.play();
      } catch {
        this.waiting.add(el);
      }
    }
    this.setBlocked(this.waiting.size > 0);
  }

  destroy(): void {
    this.stopRinging();
    for (const el of this.elements) this.detach(el);
    this.removeGestureListeners();
  }

  private play(el: HTMLAudioElement, what: string): void {
    el.play().then(
      () => {
        this.waiting.delete(el);
        if (this.waiting.size === 0) this.setBlocked(false);
      },
      (err: unknown) => {
        if ((err as { name?: string }).name !== "NotAllowedError") return;
        if (el === this.ringtone && !this.ringing) return;
        this.waiting.add(el);
        const first = !this.blocked;
        this.setBlocked(true);
        if (first) this.onBlocked(what);
      },
    );
  }

  private readonly onGesture = () => {
    void this.unlock();
  };

  private setBlocked(blocked: boolean): void {
    if (blocked === this.blocked) return;
    this.blocked = blocked;
    if (blocked) GESTURES.forEach((g) => document.addEventListener(g, this.onGesture, true));
    else this.removeGestureListeners();
    this.onChange();
  }

  private removeGestureListeners(): void {
    GESTURES.forEach((g) => document.removeEventListener(g, this.onGesture, true));
  }
}
