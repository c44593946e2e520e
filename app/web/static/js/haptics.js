// "Feel it": plays the job's Web Vibration output (haptics.web.json) with navigator.vibrate in time with the
// video. Each chunk {start_ms, pattern} starts at its media time; a pattern alternates vibrate and pause
// durations in ms, starting with a vibration. On pause, seek or a rate change the motor stops
// (navigator.vibrate(0)) and playback resumes from the chunk under the playhead, its elapsed part cut off.

export function vibrationSupported() {
  return typeof navigator !== "undefined" && typeof navigator.vibrate === "function";
}

/**
 * The rest of a pattern once `elapsedMs` of it has played, scaled to the playback rate.
 * @returns {number[]} a pattern starting with a vibration (an empty array when nothing is left)
 */
export function remainingPattern(pattern, elapsedMs, rate = 1) {
  const out = [];
  let t = 0;
  for (let i = 0; i < pattern.length; i++) {
    const start = t;
    t += pattern[i];
    if (t <= elapsedMs) continue;
    const left = t - Math.max(start, elapsedMs);
    if (out.length === 0 && i % 2 === 1) {
      out.push(0);  // we are inside a pause: keep vibrate/pause alternation
    }
    out.push(left);
  }
  return out.map((ms) => Math.max(0, Math.round(ms / rate)));
}

export class Vibrator {
  /**
   * @param {HTMLVideoElement} video the player to follow
   */
  constructor(video) {
    this.video = video;
    this.chunks = [];
    this.enabled = false;
    this.next = 0;
    this.frame = 0;
    this.resumedMs = 0;
    const stop = () => this.stop();
    for (const name of ["pause", "seeking", "ratechange", "ended", "emptied"]) video.addEventListener(name, stop);
    for (const name of ["play", "seeked"]) video.addEventListener(name, () => this.resume());
  }

  /** @param {{chunks: {start_ms: number, pattern: number[]}[]}|null} web the haptics.web.json document */
  load(web) {
    this.chunks = web && Array.isArray(web.chunks) ? web.chunks.slice().sort((a, b) => a.start_ms - b.start_ms) : [];
    this.stop();
    this.resume();
  }

  setEnabled(on) {
    this.enabled = on && vibrationSupported();
    if (this.enabled) this.resume();
    else this.stop();
  }

  stop() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (vibrationSupported()) navigator.vibrate(0);
  }

  resume() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!this.enabled || this.video.paused || !this.chunks.length) return;
    const nowMs = this.video.currentTime * 1000;
    this.resumedMs = nowMs;
    // the first chunk that has not finished yet
    this.next = this.chunks.findIndex((c) => c.start_ms + c.pattern.reduce((a, b) => a + b, 0) > nowMs);
    if (this.next < 0) return;
    this.tick();
  }

  tick() {
    if (!this.enabled || this.video.paused || this.next >= this.chunks.length) return;
    const nowMs = this.video.currentTime * 1000;
    const chunk = this.chunks[this.next];
    // fire up to one animation frame early: the browser starts the motor at the next frame anyway
    if (nowMs >= chunk.start_ms - 8) {
      // a chunk reached while playing starts whole (a frame late at most); one under the playhead when
      // playback (re)started loses the part already behind it
      const elapsed = chunk.start_ms < this.resumedMs ? nowMs - chunk.start_ms : 0;
      const pattern = remainingPattern(chunk.pattern, Math.max(0, elapsed), this.video.playbackRate || 1);
      if (pattern.length) navigator.vibrate(pattern);
      this.next += 1;
    }
    this.frame = requestAnimationFrame(() => this.tick());
  }
}
