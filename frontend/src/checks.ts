/**
 * Compile-time proof that the published literal unions (generated/public-types.ts, inlined into
 * webphone.d.ts) equal the generated runtime tables the SDK works with. Both come from the Python
 * tables; this fails `make lint` (tsc) if the generator ever let them part.
 */
import type { PROTOCOL_ERROR_CODES, SDK_ERRORS } from "./generated/errors";
import type { CallStateName, EndReason as GenEndReason, SERVER_FIELDS, SERVER_TYPES, ServerType } from "./generated/protocol";
import type { CallState, EndReason, ProtocolErrorCode, SdkErrorCode } from "./public-api";

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type Checks = [
  Assert<Equal<CallState, CallStateName>>,
  Assert<Equal<EndReason, GenEndReason>>,
  Assert<Equal<SdkErrorCode, keyof typeof SDK_ERRORS>>,
  Assert<Equal<ProtocolErrorCode, (typeof PROTOCOL_ERROR_CODES)[number]>>,
  Assert<Equal<ServerType, (typeof SERVER_TYPES)[number]>>,
  Assert<Equal<keyof typeof SERVER_FIELDS, ServerType>>,
];
