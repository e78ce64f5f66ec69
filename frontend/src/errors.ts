/** ZorioWebphoneError: one class, its codes and messages from the generated error catalogue. */
import { PROTOCOL_ERROR_CODES, SDK_CODES_FROM_REST, SDK_ERRORS } from "./generated/errors";
import type { ServerMessageOf } from "./generated/protocol";
import type { ErrorCode, ProtocolErrorCode, SdkErrorCode, ZorioWebphoneError as ErrorApi } from "./public-api";

export class ZorioWebphoneError extends Error implements ErrorApi {
  override readonly name = "ZorioWebphoneError" as const;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly whatToDo: string;

  constructor(code: ErrorCode, details: Record<string, unknown> = {}) {
    const entry = isSdkCode(code) ? SDK_ERRORS[code] : undefined;
    const serverMessage = typeof details.message === "string" ? details.message : "";
    super(entry ? entry.message : serverMessage || code);
    this.code = code;
    this.details = details;
    this.whatToDo = entry ? entry.what_to_do : "";
  }
}

export function isSdkCode(code: string): code is SdkErrorCode {
  return Object.prototype.hasOwnProperty.call(SDK_ERRORS, code);
}

function isProtocolCode(code: string): code is ProtocolErrorCode {
  return (PROTOCOL_ERROR_CODES as readonly string[]).includes(code);
}

/** The error a method rejects with when the server refuses its request (`error` frame). */
export function fromServerError(frame: ServerMessageOf<"error">): ZorioWebphoneError {
  const code: ErrorCode = isProtocolCode(frame.code) || isSdkCode(frame.code) ? frame.code : "bad_request";
  return new ZorioWebphoneError(code, { server_code: frame.code, message: frame.message, call_id: frame.call_id });
}

/** The SDK code of a REST error body's `code`: the same code where the SDK has it, else `bootstrap_failed`. */
export function fromRestCode(code: string): SdkErrorCode {
  const shared = (SDK_CODES_FROM_REST as readonly string[]).includes(code);
  return shared && isSdkCode(code) ? code : "bootstrap_failed";
}

/** getUserMedia / setSinkId refusing a device id that does not exist (any more). */
export function isMissingDevice(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === "NotFoundError" || name === "OverconstrainedError";
}

export function audioDeviceError(kind: "audioinput" | "audiooutput", deviceId: string | undefined, err: unknown): ZorioWebphoneError {
  const e = err as { name?: string; message?: string } | null;
  const cause = `${e?.name ?? "Error"}${e?.message ? `: ${e.message}` : ""}`;
  return new ZorioWebphoneError("audio_device_not_found", { kind, deviceId: deviceId ?? "default", cause });
}

/** What getUserMedia's refusal means for the agent: a blocked permission, or a device that is not there. */
export function microphoneError(deviceId: string | undefined, err: unknown): ZorioWebphoneError {
  const name = (err as { name?: string } | null)?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return new ZorioWebphoneError("microphone_denied", { cause: `${name}: ${(err as Error).message ?? ""}`.trim() });
  }
  return audioDeviceError("audioinput", deviceId, err);
}
