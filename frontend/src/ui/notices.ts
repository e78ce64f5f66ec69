/**
 * System notifications of ringing calls. `Notifier` is what the widget asks for; `plainNotifier`
 * is the `<script>` widget's: a page of a partner's origin cannot register our service worker, and
 * only a worker's notifications have action buttons, so this one has none: a click brings the
 * window and the call to the front, where the agent answers.
 */
import type { Call } from "../call";

export interface Notifier {
  /** Shows `call`'s notification; false when this notifier cannot (no permission, no API). */
  show(call: Call, title: string, body: string): boolean;
  close(call: Call): void;
}

export function plainNotifier(reveal: (call: Call) => void): Notifier {
  const shown = new Map<Call, Notification>();
  return {
    show(call, title, body) {
      if (typeof Notification === "undefined" || Notification.permission !== "granted") return false;
      const notice = new Notification(title, { body, tag: `zorio-${call.id}`, requireInteraction: true });
      notice.onclick = () => {
        window.focus();
        notice.close();
        reveal(call);
      };
      shown.set(call, notice);
      return true;
    },
    close(call) {
      shown.get(call)?.close();
      shown.delete(call);
    },
  };
}
