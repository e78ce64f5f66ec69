// Synthesizes the shipped default ringtone, static/sounds/ringtone.wav (self-made, public domain):
// a two-tone 440+480 Hz ring, 0.4 s on, 0.2 s off, 0.4 s on, 1 s off; 16-bit mono 8 kHz PCM.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const RATE = 8000;
const PATTERN_S = [[0.4, true], [0.2, false], [0.4, true], [1.0, false]];
const FADE_S = 0.01;
const samples = [];
for (const [seconds, on] of PATTERN_S) {
  const n = Math.round(seconds * RATE);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const envelope = Math.min(1, t / FADE_S, (seconds - t) / FADE_S);
    const v = on ? 0.35 * envelope * (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 480 * t)) : 0;
    samples.push(Math.round(v * 32767));
  }
}
const data = Buffer.alloc(samples.length * 2);
samples.forEach((s, i) => data.writeInt16LE(s, i * 2));
const header = Buffer.alloc(44);
header.write("RIFF", 0); header.writeUInt32LE(36 + data.length, 4); header.write("WAVE", 8);
header.write("fmt ", 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
header.writeUInt32LE(RATE, 24); header.writeUInt32LE(RATE * 2, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
header.write("data", 36); header.writeUInt32LE(data.length, 40);
const out = resolve(dirname(fileURLToPath(import.meta.url)), "../static/sounds/ringtone.wav");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, Buffer.concat([header, data]));
console.log(`wrote ${out}`);
