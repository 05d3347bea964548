/**
 * Trackers' and notifiers' millisecond view of the one clock (src/util/clock.ts), re-exported
 * here so track/ and notify/ keep their import path. The virtual test clock is in test/support.
 */
export { realTrackClock, trackClockFrom, type TimerId, type TrackClock } from '../util/clock.js';
