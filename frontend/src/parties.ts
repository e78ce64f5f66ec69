/**
 * Who is on the line, from the call records (`GET /api/webphone/calls`): signalling names the caller
 * of an incoming call but not the called party of an outgoing one, nor the party a transfer joined
 * this leg to (a transfer moves the leg into a new call record), nor the campaign context the caller
 * placed the call with. The records say all three. They are read when a call is set up or changes
 * hands, and every `POLL_MS` while a call is up (a completed attended transfer tells the remaining
 * parties nothing).
 */
import type { Call } from "./call";
import type { CallContext, CallRecordEntry } from "./public-api";

const POLL_MS = 12000;
const PAGE_SIZE = 10;

export interface PartiesHost {
  readonly extension: string;
  readonly calls: readonly Call[];
  callHistory(options: { pageSize: number }): Promise<{ results: CallRecordEntry[] }>;
  log(...args: unknown[]): void;
}

function contextOf(record: CallRecordEntry): CallContext {
  const options = record.options ?? {};
  const context: CallContext = {};
  for (const [key, name] of [["campaign_id", "campaignId"], ["lead_id", "leadId"], ["customer_id", "customerId"],
    ["caller_name", "callerName"]] as const) {
    if (typeof options[key] === "string" && options[key]) context[name] = options[key] as string;
  }
  return context;
}

export class Parties {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | null = null;

  constructor(private readonly host: PartiesHost) {}

  /** Reads the records now (at most one read at a time), and keeps polling while a call is up. */
  refresh(): void {
    this.running ??= this.read().finally(() => { this.running = null; });
    const up = this.host.calls.some((c) => c.state === "answered");
    if (up && this.timer === undefined) this.timer = setInterval(() => this.refresh(), POLL_MS);
    if (!up) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<void> {
    const live = this.host.calls.filter((c) => c.live && c.uuid);
    if (!live.length) return;
    let records: CallRecordEntry[];
    try {
      records = (await this.host.callHistory({ pageSize: PAGE_SIZE })).results;
    } catch (err) {
      this.host.log("call records unavailable", err);
      return;
    }
    const claimed = new Set(live.map((c) => c.uuid));
    for (const call of live) {
      let record = records.find((r) => r.uuid === call.uuid);
      if (record?.ended_at && call.state === "answered") {
        // This leg goes on in another record: the newest live, answered one nobody else here has.
        record = records.find((r) => !r.ended_at && r.answered_at && !claimed.has(r.uuid));
        if (record) {
          this.host.log(`call ${call.id}: moved to record ${record.uuid}`);
          claimed.add(record.uuid);
          call.uuid = record.uuid;
        }
      }
      if (record && !record.ended_at) this.apply(call, record);
    }
  }

  private apply(call: Call, record: CallRecordEntry): void {
    const mine = this.host.extension;
    const outgoing = record.from === mine;
    const [number, name] = outgoing ? [record.to, record.to_name] : [record.from, record.from_name];
    const context = { ...contextOf(record), ...call.context };
    const changed = number !== call.number || (name && name !== call.name) ||
      JSON.stringify(context) !== JSON.stringify(call.context);
    if (!changed) return;
    call.number = number;
    if (name) call.name = name;
    if (call.direction === "incoming") [call.from, call.fromName] = [number, name || call.fromName];
    else call.to = number;
    call.context = context;
    call.notify();
  }
}
