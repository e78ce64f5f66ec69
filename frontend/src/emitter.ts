/** A small typed event emitter; a throwing handler never breaks the SDK. */
export class Emitter<Events extends object> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();
  private readonly internal = new Map<keyof Events, Set<(payload: never) => void>>();

  on<E extends keyof Events>(event: E, handler: (payload: Events[E]) => void): void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
  }

  /**
   * The SDK's own handler (its UI, the softphone's wiring): heard like any other, but not removed by a
   * partner's `off(event)`, which clears the partner's handlers only.
   */
  listen<E extends keyof Events>(event: E, handler: (payload: Events[E]) => void): void {
    let set = this.internal.get(event);
    if (!set) this.internal.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
  }

  /** Removes `handler`; without one, every handler of `event`. */
  off<E extends keyof Events>(event: E, handler?: (payload: Events[E]) => void): void {
    if (handler) this.handlers.get(event)?.delete(handler as (payload: never) => void);
    else this.handlers.delete(event);
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const handler of [...(this.internal.get(event) ?? []), ...(this.handlers.get(event) ?? [])]) {
      try {
        (handler as (payload: Events[E]) => void)(payload);
      } catch (err) {
        console.error("[zorio] event handler failed", event, err);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
    this.internal.clear();
  }
}
