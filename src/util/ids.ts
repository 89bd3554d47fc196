// Random identifiers from crypto.getRandomValues, lower-case hex.
import { toHex } from "./crypto";

/** `chars` random lower-case hex characters. */
export function randomHex(chars: number): string {
  if (!Number.isInteger(chars) || chars < 0 || chars > 1024) throw new RangeError("randomHex: chars must be 0..1024");
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(chars / 2)));
  return toHex(bytes).slice(0, chars);
}

/** A generated userID, `user_xxxxxxxx_xxxx` (the original service's shape). */
export function randomUserID(): string {
  return `user_${randomHex(8)}_${randomHex(4)}`;
}

/** A generated roomID, `room_xxxxxxxx_xxxx`. */
export function randomRoomID(): string {
  return `room_${randomHex(8)}_${randomHex(4)}`;
}

/** The random part of a test stream name (get_test_pushurl, get_test_rtmpaccurl). */
export function randomStreamSuffix(): string {
  return randomHex(8);
}
