/**
 * `GET /api/webphone/sip-config`: the extension's configuration, with REST errors mapped to SDK codes
 * by the generated catalogue (`fromRestCode`).
 */
import { ZorioWebphoneError, fromRestCode } from "./errors";
import type { Layout, Locale, ThemeMode } from "./public-api";

export interface ThemeConfig {
  name?: string;
  mode?: ThemeMode;
  layout?: Layout;
  locale?: Locale;
  logo_url?: string;
  primary_color?: string;
  background_color?: string;
  text_color?: string;
  accent_color?: string;
  danger_color?: string;
}

export interface SipConfig {
  extension: string;
  display_name: string;
  user: Record<string, unknown>;
  tenant: { slug: string; name: string };
  ws_url: string;
  ice_servers: RTCIceServer[];
  profile: { enabled: boolean; recording: boolean; call_waiting: boolean };
  theme: ThemeConfig | null;
  locale: Locale;
  token_expires_at: string;
}

export function trimBase(apiBase: string): string {
  return apiBase.replace(/\/+$/, "");
}

/** GET of a REST endpoint with the token; a failure is a ZorioWebphoneError named after the REST code. */
export async function getJson(apiBase: string, path: string, token: string, stage: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(`${trimBase(apiBase)}${path}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ZorioWebphoneError("bootstrap_failed", { stage, cause: String(err) });
  }
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    /* a non-JSON answer is reported by status below */
  }
  if (!response.ok) {
    const serverCode = typeof body.code === "string" ? body.code : "";
    throw new ZorioWebphoneError(fromRestCode(serverCode), {
      stage,
      status: response.status,
      server_code: serverCode,
      message: body.message,
      unauthorized: response.status === 401,
    });
  }
  return body;
}

export async function fetchSipConfig(apiBase: string, token: string): Promise<SipConfig> {
  const config = (await getJson(apiBase, "/api/webphone/sip-config", token, "sip-config")) as unknown as SipConfig;
  if (config.profile && config.profile.enabled === false) {
    throw new ZorioWebphoneError("webphone_disabled", { stage: "sip-config" });
  }
  if (!config.ws_url) throw new ZorioWebphoneError("bootstrap_failed", { stage: "sip-config", cause: "no ws_url" });
  return config;
}
