// Protobuf Durations as the near cache measures time: milliseconds.
import { Duration } from "../gen/google/protobuf/duration.pb.js";

/** `duration` in milliseconds (fractions kept). */
export function durationMs(duration: Duration): number {
  return Number(duration.seconds) * 1000 + duration.nanos / 1e6;
}
