/** Compile-time proof that the public literal unions equal the generated protocol tables. */
import type { CallStateName, EndReason as GenEndReason, SdkErrorCode as GenSdkCode, PROTOCOL_ERROR_CODES } from "./generated/protocol";
import type { CallState, EndReason, ProtocolErrorCode, SdkErrorCode } from "./public-api";

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type Checks = [
  Assert<Equal<CallState, CallStateName>>,
  Assert<Equal<EndReason, GenEndReason>>,
  Assert<Equal<SdkErrorCode, GenSdkCode>>,
  Assert<Equal<ProtocolErrorCode, (typeof PROTOCOL_ERROR_CODES)[number]>>,
];
