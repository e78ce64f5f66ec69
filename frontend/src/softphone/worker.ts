/**
 * The softphone's service worker (`/softphone/sw.js`, scope `/softphone/`): notification actions
 * exist only for notifications a service worker shows, so the softphone page shows a ringing call's
 * notification through this worker's registration, with Answer and Decline. A click comes back here
 * (`notificationclick`) and goes to the softphone pages as a bridge-shaped message
 * `{zorio: {v, type: "notification", id, payload: {action, callId}}}`; the page that has the call
 * answers or declines it. A plain click also brings the tab to the front (only a worker handling
 * the click may). The worker caches nothing and fetches nothing.
 */
import { BRIDGE_VERSION } from "./bridge";

export type NotificationAction = "answer" | "decline" | "show";

/** What the softphone page puts in `notification.data`. */
export interface NotificationData { callId: string }

interface PageClient {
  readonly url: string;
  postMessage(message: unknown): void;
  focus(): Promise<unknown>;
}

interface ExtendableEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}

interface NotificationClickEvent extends ExtendableEvent {
  readonly notification: Notification;
  readonly action: string;
}

interface WorkerScope {
  readonly clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<PageClient[]>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "notificationclick", listener: (event: NotificationClickEvent) => void): void;
}

const scope = self as unknown as WorkerScope;

/** The action of a click: a button's, or a click on the notification itself. */
export function actionOf(action: string): NotificationAction {
  return action === "answer" || action === "decline" ? action : "show";
}

/**
 * Routes a click on `notification` to the softphone pages (each checks whether the call is its own);
 * a plain click focuses the most recently focused one (`matchAll` lists them in that order).
 */
export async function routeClick(notification: Notification, action: string): Promise<void> {
  notification.close();
  const callId = String((notification.data as NotificationData | null)?.callId ?? "");
  const kind = actionOf(action);
  const pages = await scope.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const page of pages) {
    page.postMessage({ zorio: { v: BRIDGE_VERSION, type: "notification", id: callId, payload: { action: kind, callId } } });
  }
  if (kind === "show") await pages[0]?.focus().catch(() => undefined);
}

scope.addEventListener("install", (event) => event.waitUntil(scope.skipWaiting()));
scope.addEventListener("activate", (event) => event.waitUntil(scope.clients.claim()));
scope.addEventListener("notificationclick", (event) => event.waitUntil(routeClick(event.notification, event.action)));
