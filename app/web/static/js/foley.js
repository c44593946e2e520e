// Original sound, Foley track or both: the Foley track plays in an <audio> element kept in step with the
// video (same time, rate and play state; re-aligned when it drifts more than DRIFT_S), and the two are
// mixed by muting one or the other.

const DRIFT_S = 0.08;

export class SoundSwitch {
  /**
   * @param {HTMLVideoElement} video the player (carries the original sound)
   * @param {HTMLAudioElement} audio the element that plays the Foley track
   */
  constructor(video, audio) {
    this.video = video;
    this.audio = audio;
    this.mode = "original";
    this.hasFoley = false;
    video.addEventListener("play", () => this.sync(true));
    video.addEventListener("pause", () => audio.pause());
    video.addEventListener("seeked", () => this.sync(true));
    video.addEventListener("ratechange", () => { audio.playbackRate = video.playbackRate; });
    video.addEventListener("timeupdate", () => this.sync(false));
    video.addEventListener("ended", () => audio.pause());
  }

  /** Use the Foley track at `url` (null: there is none). */
  load(url) {
    this.hasFoley = Boolean(url);
    if (url) this.audio.src = url;
    else this.audio.removeAttribute("src");
    this.set(this.hasFoley ? this.mode : "original");
  }

  /** @param {"original"|"foley"|"both"} mode */
  set(mode) {
    this.mode = this.hasFoley ? mode : "original";
    this.video.muted = this.mode === "foley";
    this.audio.muted = this.mode === "original";
    this.sync(true);
  }

  sync(force) {
    if (!this.hasFoley) return;
    const { video, audio } = this;
    if (this.mode === "original" || video.paused) {
      if (!audio.paused) audio.pause();
      if (force && this.mode !== "original") audio.currentTime = video.currentTime;
      return;
    }
    if (force || Math.abs(audio.currentTime - video.currentTime) > DRIFT_S) audio.currentTime = video.currentTime;
    audio.playbackRate = video.playbackRate;
    if (audio.paused) audio.play().catch(() => {});
  }
}
