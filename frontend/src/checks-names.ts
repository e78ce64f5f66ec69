/** The checks of `diagnose()`, in the order they are run and shown. */
export const CHECK_NAMES = ["secureContext", "microphone", "config", "websocket", "stun", "turn"] as const;
