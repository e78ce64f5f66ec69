/**
 * What signalling does not say when a call is set up, read once from its record (`GET
 * /api/webphone/calls`): the name of the party an outgoing call reaches, and the campaign context an
 * incoming call was placed with. A later change of party (a transfer) arrives as a `call.party`
 * frame (call.ts `setParty`), so nothing here polls.
 */
import type { Call } from "./call";
import type { CallContext, CallRecordEntry } from "./public-api";

const PAGE_SIZE = 10;

export interface PartiesHost {
  readonly extension: string;
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
  constructor(private readonly host: PartiesHost) {}

  /** Reads `call`'s record once; what it says is applied while the call is still in that record. */
  async read(call: Call): Promise<void> {
    const uuid = call.uuid;
    if (!uuid) return;
    let records: CallRecordEntry[];
    try {
      records = (await this.host.callHistory({ pageSize: PAGE_SIZE })).results;
    } catch (err) {
      this.host.log("call records unavailable", err);
      return;
    }
    const record = records.find((r) => r.uuid === uuid);
    if (record && call.live && call.uuid === uuid) this.apply(call, record);
  }

  private apply(call: Call, record: CallRecordEntry): void {
    const outgoing = record.from === this.host.extension;
    // An incoming call's `call.incoming` already named the caller as the caller chose to be shown
    // (a `callerName` option, a trunk's display name): the record only fills a missing name.
    const [number, name] = outgoing ? [record.to, record.to_name]
      : [record.from, call.fromName ? "" : record.from_name];
    const context = { ...contextOf(record), ...call.context };
    const changed = (name && name !== call.name) || JSON.stringify(context) !== JSON.stringify(call.context);
    if (!changed) return;
    if (name) call.name = name;
    if (call.direction === "incoming" && name) call.fromName = name;
    call.context = context;
    call.notify();
    this.host.log(`call ${call.id}: ${number} is ${name || "unnamed"}`);
  }
}
