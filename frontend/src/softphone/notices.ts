/**
 * The softphone's notifications of ringing calls, with Answer and Decline: only a service worker's
 * notifications carry actions, so they are shown through the registration of the page's worker
 * (worker.ts, `/softphone/sw.js`). A click comes back from the worker as a `notification` message;
 * the call it names, when it is this page's and still ringing, is answered, declined or brought to
 * the front. Where this page may not show notifications (the browser gives a cross-origin iframe no
 * permission, or has no service workers), the host page is asked to show a plain one instead
 * (`notice` to softphone.js, which shows it when its own origin has the permission).
 */
import type { Call } from "../call";
import type { Notifier } from "../ui/notices";
import { unpack } from "./bridge";
import type { NotificationAction, NotificationData } from "./worker";

export const WORKER_URL = "/softphone/sw.js";
export const WORKER_SCOPE = "/softphone/";

/** `NotificationOptions` with the worker-only `actions` (not in TypeScript's DOM library). */
interface WorkerNotificationOptions extends NotificationOptions {
  actions: { action: NotificationAction; title: string }[];
}

export interface NoticeHooks {
  /** The calls of the phone signed in now. */
  calls(): readonly Call[];
  t(key: string): string;
  /** Applies a click to a ringing call of this page. */
  act(call: Call, action: NotificationAction): void;
  /** Asks the host page to show (`notice`) or close (null) a plain notification, by tag. */
  host(tag: string, notice: { title: string; body: string } | null): void;
  log(...args: unknown[]): void;
}

const tagOf = (call: Call): string => `zorio-${call.id}`;

export class WorkerNotices implements Notifier {
  private registration: ServiceWorkerRegistration | null = null;
  private readonly byHost = new Set<Call>();

  constructor(private readonly hooks: NoticeHooks) {}

  /** Registers the worker and listens for the clicks it routes back. */
  start(): void {
    const workers = navigator.serviceWorker;
    if (!workers) return;
    workers.addEventListener("message", (event) => this.onMessage(event));
    workers.register(WORKER_URL, { scope: WORKER_SCOPE })
      .then(() => workers.ready)
      .then((registration) => { this.registration = registration; }, (err) => this.hooks.log("no service worker", err));
  }

  show(call: Call, title: string, body: string): boolean {
    const registration = this.registration;
    if (!registration || typeof Notification === "undefined" || Notification.permission !== "granted") {
      this.toHost(call, title, body);
      return true;
    }
    const t = this.hooks.t;
    const data: NotificationData = { callId: call.id ?? "" };
    const options: WorkerNotificationOptions = {
      body, tag: tagOf(call), data, requireInteraction: true,
      actions: [{ action: "answer", title: t("answer") }, { action: "decline", title: t("reject") }],
    };
    registration.showNotification(title, options).catch((err) => {
      this.hooks.log("worker notification refused", err);
      this.toHost(call, title, body);
    });
    return true;
  }

  close(call: Call): void {
    const tag = tagOf(call);
    void this.registration?.getNotifications({ tag }).then((shown) => shown.forEach((n) => n.close()));
    if (this.byHost.delete(call)) this.hooks.host(tag, null);
  }

  private toHost(call: Call, title: string, body: string): void {
    this.byHost.add(call);
    this.hooks.host(tagOf(call), { title, body });
  }

  private onMessage(event: MessageEvent): void {
    if (event.origin && event.origin !== location.origin) return;
    const env = unpack(event.data);
    if (env?.type !== "notification") return;
    const { action, callId } = (env.payload ?? {}) as { action?: NotificationAction; callId?: string };
    const call = this.hooks.calls().find((c) => c.id === callId && c.direction === "incoming" && c.state === "ringing");
    if (!call || (action !== "answer" && action !== "decline" && action !== "show")) return;
    this.hooks.log(`notification: ${action} ${callId}`);
    this.hooks.act(call, action);
  }
}
