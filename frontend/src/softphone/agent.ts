/**
 * The agent tab (`enableAgent`): the agent logs in and out of its queues and pauses and resumes,
 * through the server (`agent.state`: the `queue` scenario offers callers to ready agents); the
 * state is kept for the tab and the extension (sessionStorage, restored on the server after a
 * reload), shown in the bar above the phone with the queues, and reported to the host
 * (onAgentLoggedIn/LoggedOut/Paused/Resumed), also when the server changes it. A tenant without
 * queues still keeps, shows and reports the agent's state (the server has no queue to put it in,
 * and the bar says so). The bar also switches the language.
 */
import { h } from "../ui/dom";
import type { Locale } from "../public-api";
import type { AgentQueueState, AgentStateEvent } from "../public-api";
import type { AgentInfo, AgentState, SoftphoneCallbacks } from "./public-api";

const KEY_PREFIX = "zorio-softphone-agent:";
/** What each action does: the state it needs, the state it leads to, and the callback it fires. */
const ACTIONS = {
  login: { from: ["logged_out"], to: "ready", server: "logged_in", callback: "onAgentLoggedIn" },
  pause: { from: ["ready"], to: "paused", server: "paused", callback: "onAgentPaused" },
  resume: { from: ["paused"], to: "ready", server: "ready", callback: "onAgentResumed" },
  logout: { from: ["ready", "paused"], to: "logged_out", server: "logged_out", callback: "onAgentLoggedOut" },
} as const satisfies Record<string, {
  from: readonly AgentState[]; to: AgentState; server: AgentQueueState; callback: keyof SoftphoneCallbacks;
}>;
/** The server refuses a login when the tenant has no queue at all (`invalid_target`). */
const NO_QUEUE = "invalid_target";
export type AgentAction = keyof typeof ACTIONS;

export interface AgentHooks {
  t(key: string): string;
  emit(name: keyof SoftphoneCallbacks, ...args: unknown[]): void;
  locale(): Locale;
  setLocale(locale: Locale): void;
  /** Asks the server for `state` (`phone.setAgentState`); null: no phone. */
  apply(state: AgentQueueState): Promise<AgentStateEvent | null>;
}

interface Kept { state: AgentState; since: string }

function storage(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null; // blocked third-party storage: the state lasts as long as the page
  }
}

export class AgentTab {
  private extension = "";
  private kept: Kept = { state: "logged_out", since: new Date().toISOString() };
  private queues: string[] = [];
  private note = "";

  constructor(private readonly root: HTMLElement, private readonly enabled: boolean, private readonly hooks: AgentHooks) {}

  get state(): AgentState {
    return this.kept.state;
  }

  /** A phone logged in as `extension` (""): the tab shows that extension's kept state. */
  attach(extension: string): void {
    this.extension = extension;
    const raw = extension ? storage()?.getItem(KEY_PREFIX + extension) : null;
    let kept: Partial<Kept> = {};
    try {
      kept = JSON.parse(raw ?? "{}") as Partial<Kept>;
    } catch { /* dropped below */ }
    this.kept = kept.state === "ready" || kept.state === "paused" || kept.state === "logged_out"
      ? { state: kept.state, since: String(kept.since ?? new Date().toISOString()) }
      : { state: "logged_out", since: new Date().toISOString() };
    this.queues = [];
    this.note = "";
    this.render();
    if (extension && this.kept.state !== "logged_out") void this.restore(this.kept.state);
  }

  /** After a reload the server (which keeps agents in memory) is told the state the tab kept. */
  private async restore(state: AgentState): Promise<void> {
    try {
      await this.ask("logged_in");
      if (state === "paused") await this.ask("paused");
    } catch (err) {
      this.note = (err as Error).message;
    }
    this.render();
  }

  private async ask(state: AgentQueueState): Promise<void> {
    try {
      const reply = await this.hooks.apply(state);
      this.queues = reply?.queues ?? [];
      this.note = "";
    } catch (err) {
      if ((err as { code?: string }).code !== NO_QUEUE) throw err;
      this.queues = [];
      this.note = this.hooks.t("agent_no_queue"); // kept and reported, with no queue to be in
    }
  }

  /** Runs `action` when the state allows it and the server agrees; false otherwise (nothing changes). */
  async act(action: AgentAction): Promise<boolean> {
    const rule = ACTIONS[action];
    if (!this.extension || !(rule.from as readonly AgentState[]).includes(this.kept.state)) return false;
    try {
      await this.ask(rule.server);
    } catch (err) {
      this.note = (err as Error).message;
      this.render();
      return false;
    }
    this.set(rule.to);
    this.hooks.emit(rule.callback, this.info());
    return true;
  }

  /** The server changed the state (another device of the agent, a queue): the tab follows and reports it. */
  fromServer(event: AgentStateEvent): void {
    const next: AgentState = event.state === "paused" ? "paused" : event.state === "ready" ? "ready" : "logged_out";
    this.queues = event.queues;
    const was = this.kept.state;
    if (next === was) {
      this.render();
      return;
    }
    this.set(next);
    this.hooks.emit(next === "logged_out" ? "onAgentLoggedOut" : next === "paused" ? "onAgentPaused"
      : was === "paused" ? "onAgentResumed" : "onAgentLoggedIn", this.info());
  }

  private set(state: AgentState): void {
    this.kept = { state, since: new Date().toISOString() };
    try {
      storage()?.setItem(KEY_PREFIX + this.extension, JSON.stringify(this.kept));
    } catch { /* not kept across reloads */ }
    this.render();
  }

  info(): AgentInfo {
    return { extension: this.extension, ...this.kept, queues: [...this.queues] };
  }

  render(): void {
    const t = this.hooks.t;
    const state = this.kept.state;
    const button = (action: AgentAction, primary = false) => h("button", {
      type: "button", class: primary ? "zorio-agent-primary" : undefined, "data-agent": action, onclick: () => void this.act(action),
    }, t(`agent_${action}`));
    const language = h("select", {
      "aria-label": t("agent_language"), "data-agent": "language",
      onchange: (event: Event) => this.hooks.setLocale((event.target as HTMLSelectElement).value === "vi" ? "vi" : "en"),
    }, ...(["vi", "en"] as const).map((code) => h("option", { value: code, selected: this.hooks.locale() === code }, t(`agent_lang_${code}`))));
    const controls = !this.enabled || !this.extension ? []
      : state === "logged_out" ? [button("login", true)]
        : [state === "ready" ? button("pause") : button("resume", true), button("logout")];
    this.root.replaceChildren(
      this.enabled && this.extension ? h("span", { class: "zorio-agent-state", "data-state": state, role: "status" },
        h("span", { class: "zorio-agent-dot", "aria-hidden": "true" }), t(`agent_state_${state}`),
        this.queues.length ? h("small", {}, ` · ${this.queues.join(", ")}`) : null,
        this.note ? h("small", { class: "zorio-agent-note" }, ` · ${this.note}`) : null) : h("span", {}),
      ...controls,
      language);
    this.root.hidden = false;
  }
}
