/**
 * The transfer directory: the tenant's extensions with their presence (`phone.directory()`), merged
 * with the contacts of `phone.contactSources` (the softphone host's `onWazoContactSearch`), searched
 * as the agent types.
 */
import type { Phone } from "../phone";

export interface Contact {
  number: string;
  name: string;
  presence?: string;
}

const SEARCH_DEBOUNCE_MS = 200;

export class Directory {
  query = "";
  results: Contact[] = [];
  loaded = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;

  constructor(private readonly phone: Phone, private readonly changed: () => void) {
    void this.load();
  }

  search(query: string): void {
    this.query = query;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(), SEARCH_DEBOUNCE_MS);
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    const query = this.query.trim();
    const none = (err: unknown): Contact[] => {
      this.phone.log("contact search failed", err);
      return [];
    };
    const lists = await Promise.all([
      this.phone.directory(query).then((entries) => entries.filter((e) => !e.self), none),
      ...this.phone.contactSources.map((source) => source(query).catch(none)),
    ]);
    if (seq !== this.seq) return; // a newer search is under way
    const seen = new Set<string>();
    this.results = lists.flat().filter((c) => !seen.has(c.number) && !!seen.add(c.number));
    this.loaded = true;
    this.changed();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.seq++;
  }
}
