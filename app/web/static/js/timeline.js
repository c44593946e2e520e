// The timeline under the video: one row per sound category (its name and a shape beside the colour), the
// caption cues, the haptic intensity, and a playhead that follows the video. Every sound and cue is a
// button (one tab stop for the whole timeline, arrow keys between them); activating one seeks the video.

/** Category -> shape shown beside the colour, so colour never carries the category alone. */
const SHAPES = {
  impact: "■", door: "▮", breaking: "✱", footsteps: "▲", voice: "◆", human: "◆", speech: "◆",
  animal: "●", bird: "●", insect: "●", vehicle: "▶", aircraft: "▶", music: "♪", ambience: "≈",
  weather: "≈", water: "≈", alarm: "!", explosion: "✸", gunshot: "✸", fire: "✸", mechanical: "✚",
  tools: "✚", household: "✚",
};
const ORDER = ["impact", "door", "breaking", "footsteps", "voice", "human", "animal", "bird", "insect",
  "vehicle", "aircraft", "alarm", "explosion", "gunshot", "fire", "mechanical", "tools", "household",
  "water", "weather", "ambience", "music"];

export function shapeOf(category) {
  return SHAPES[category] || "○";
}

/** "m:ss.s" for a time in seconds. */
export function clock(seconds) {
  const s = Math.max(0, seconds || 0);
  const m = Math.floor(s / 60);
  const rest = (s - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${rest}`;
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  if (text !== null) node.textContent = text;
  return node;
}

/** Place items in as few sub-rows as needed so none hides another; returns the row count. */
function stack(items, minSpan) {
  const ends = [];
  for (const item of items) {
    const visualEnd = Math.max(item.end, item.start + minSpan);
    let row = ends.findIndex((end) => end <= item.start);
    if (row < 0) {
      row = ends.length;
      ends.push(visualEnd);
    } else {
      ends[row] = visualEnd;
    }
    item.row = row;
  }
  return Math.max(1, ends.length);
}

/** A round tick step (s) giving at most `maxTicks` ticks over `duration` seconds. */
function niceStep(duration, maxTicks = 10) {
  for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]) {
    if (duration / step <= maxTicks) return step;
  }
  return 7200;
}

export class Timeline {
  /**
   * @param {HTMLElement} root the timeline container (role="group")
   * @param {(seconds: number) => void} onSeek called when a sound or cue is activated
   */
  constructor(root, onSeek) {
    this.root = root;
    this.onSeek = onSeek;
    this.duration = 0;
    this.items = [];  // {button, bar, start, end, lane, row}
    this.lanes = [];  // arrays of items, in time order
    this.tracks = [];  // each lane's track element
    this.time = 0;
    this.span = 0;  // seconds shown at once (0: the whole media)
    this.viewStart = 0;  // media time at the left edge
    this.missed = new Set();
    root.addEventListener("keydown", (e) => this.key(e));
    if (typeof ResizeObserver === "function") new ResizeObserver(() => this.layout()).observe(root);
  }

  /**
   * Draw the timeline.
   * @param {object} data
   * @param {number} data.duration media duration, s
   * @param {Array} data.events events.json events (start, end, caption, category, confidence, id)
   * @param {Array} data.cues caption cues {start, end, text}
   * @param {object|null} data.haptics haptics.json (cues with time, duration, intensity, envelope)
   */
  render({ duration, events, cues, haptics }) {
    this.duration = Math.max(duration || 0, 0.001);
    this.items = [];
    this.lanes = [];
    this.tracks = [];
    this.hapticSvg = null;
    this.root.replaceChildren();
    this.viewStart = 0;
    this.root.append(this.axis());
    const byCategory = new Map();
    for (const ev of events) {
      const cat = ev.category || "other";
      if (!byCategory.has(cat)) byCategory.set(cat, []);
      byCategory.get(cat).push(ev);
    }
    const cats = [...byCategory.keys()].sort((a, b) => {
      const ia = ORDER.indexOf(a) < 0 ? 99 : ORDER.indexOf(a);
      const ib = ORDER.indexOf(b) < 0 ? 99 : ORDER.indexOf(b);
      return ia - ib || a.localeCompare(b);
    });
    for (const cat of cats) {
      const evs = byCategory.get(cat).slice().sort((a, b) => a.start - b.start);
      this.lane(`${shapeOf(cat)} ${cat}`, `cat-${cat}`, evs.map((ev) => ({
        start: ev.start, end: ev.end, id: ev.id, glyph: shapeOf(cat), text: ev.caption || ev.label,
        label: `${ev.caption || ev.label}, ${cat}, ${clock(ev.start)} to ${clock(ev.end)}, ` +
          `confidence ${Math.round((ev.confidence || 0) * 100)}%`,
        kind: "event",
      })));
    }
    if (cues.length) {
      this.lane("Captions", "tl-cue", cues.map((c) => ({
        start: c.start, end: c.end, glyph: "“", text: c.text,
        label: `caption ${c.text}, ${clock(c.start)} to ${clock(c.end)}`, kind: "cue",
      })));
    }
    if (haptics && haptics.cues && haptics.cues.length) this.root.append(this.hapticLane(haptics.cues));
    this.playhead = el("div", { class: "tl-playhead", "aria-hidden": "true" });
    this.root.append(this.playhead);
    const first = this.items[0];
    if (first) first.button.tabIndex = 0;
    this.applyMissed();
    this.time = 0;
    this.layout();
  }

  axis() {
    const row = el("div", { class: "tl-axis", "aria-hidden": "true" });
    row.append(el("div", { class: "tl-name" }, "time"));
    const track = el("div", { class: "tl-track" });
    row.append(track);
    this.axisTrack = track;
    return row;
  }

  /** Seconds shown at once: the whole media, or `seconds` (a window that follows the playhead). */
  setSpan(seconds) {
    this.span = seconds > 0 && seconds < this.duration ? seconds : 0;
    this.viewStart = this.span ? Math.min(this.viewStart, this.duration - this.span) : 0;
    this.layout();
  }

  view() {
    const span = this.span || this.duration;
    return { start: this.viewStart, span, end: this.viewStart + span };
  }

  /** Move the window (when zoomed) so it holds `seconds`; true when it moved. */
  reveal(seconds) {
    if (!this.span) return false;
    const { start, end } = this.view();
    if (seconds >= start && seconds < end) return false;
    this.viewStart = Math.max(0, Math.min(this.duration - this.span, Math.floor(seconds / this.span) * this.span));
    this.layout();
    return true;
  }

  ticks(width) {
    const { start, span, end } = this.view();
    this.axisTrack.replaceChildren();
    const step = niceStep(span, Math.max(2, Math.min(10, Math.floor(width / 56))));
    for (let t = Math.ceil(start / step) * step; t <= end + 1e-9; t += step) {
      const nearEnd = (t - start) / span > 0.92;
      if (!nearEnd && end - t < step && (end - t) / span < 0.12) continue;  // would run into the end tick
      const tick = el("span", { class: nearEnd ? "tl-tick tl-tick-end" : "tl-tick" }, clock(t).replace(/\.0$/, ""));
      tick.style.left = `${((t - start) / span) * width}px`;
      this.axisTrack.append(tick);
    }
  }

  lane(name, cls, entries) {
    const row = el("div", { class: `tl-lane ${cls}` });
    row.append(el("div", { class: "tl-name" }, name));
    const track = el("div", { class: "tl-track" });
    const laneItems = [];
    for (const entry of entries) {
      const button = el("button", {
        type: "button", class: `tl-item ${cls} tl-${entry.kind}`, tabindex: "-1", "aria-label": entry.label,
      });
      if (entry.id) button.dataset.eventId = entry.id;
      button.dataset.start = String(entry.start);
      // the label reads in full; the bar under it spans the sound's own duration
      const bar = el("span", { class: "tl-dur", "aria-hidden": "true" });
      button.append(el("span", { class: "glyph", "aria-hidden": "true" }, entry.glyph), entry.text, bar);
      button.title = entry.label;
      const item = { button, bar, start: entry.start, end: entry.end, id: entry.id || null, kind: entry.kind,
        baseLabel: entry.label, lane: this.lanes.length, row: 0 };
      button.addEventListener("click", () => {
        this.focusItem(item, false);
        this.onSeek(item.start);
      });
      laneItems.push(item);
      this.items.push(item);
      track.append(button);
    }
    this.lanes.push(laneItems);
    this.tracks.push(track);
    row.append(track);
    this.root.append(row);
  }

  /**
   * Place every item in pixels for the current width and view: labels measured, rows stacked so none hides
   * another; items outside the view are hidden (activating one from the keyboard moves the view to it).
   */
  layout() {
    const width = this.axisTrack ? this.axisTrack.clientWidth : 0;
    if (!width) return;
    const { start, span, end } = this.view();
    const px = (seconds) => (width * seconds) / span;
    this.ticks(width);
    this.lanes.forEach((items, i) => {
      const shown = [];
      for (const item of items) {
        const inView = item.end >= start && item.start < end;
        item.button.classList.toggle("tl-out", !inView);
        if (!inView) continue;
        item.button.style.left = `${px(item.start - start)}px`;
        item.button.style.minWidth = `${Math.min(Math.max(px(item.end - item.start), 20), width)}px`;
        item.bar.style.width = `${Math.max(px(item.end - item.start), 3)}px`;
        item.bar.style.left = "-4px";
        shown.push(item);
      }
      // a label that would run past the right edge is moved left; its bar stays on the sound's own time
      const spans = shown.map((item) => {
        const at = px(item.start - start);
        const w = item.button.offsetWidth;
        const left = Math.max(0, Math.min(at, width - w));
        if (left !== at) {
          item.button.style.left = `${left}px`;
          item.bar.style.left = `${at - left - 4}px`;
        }
        return { start: left, end: left + w + 4 };
      });
      const rows = stack(spans, 0);
      shown.forEach((item, k) => {
        item.row = spans[k].row;
        item.button.style.top = `${item.row * 1.8 + 0.1}rem`;
      });
      this.tracks[i].style.height = `${rows * 1.8}rem`;
    });
    // the timeline's one tab stop must be a sound in view
    const stop = this.items.find((it) => it.button.tabIndex === 0);
    if (stop && stop.button.classList.contains("tl-out") && document.activeElement !== stop.button) {
      const visible = this.items.find((it) => !it.button.classList.contains("tl-out"));
      if (visible) {
        stop.button.tabIndex = -1;
        visible.button.tabIndex = 0;
      }
    }
    if (this.hapticSvg) {
      this.hapticSvg.setAttribute("viewBox", `${(1000 * start) / this.duration} 0 ${(1000 * span) / this.duration} 100`);
    }
    this.place();
  }

  hapticLane(cues) {
    const row = el("div", { class: "tl-lane tl-haptics" });
    row.append(el("div", { class: "tl-name" }, "∿ vibration"));
    const track = el("div", { class: "tl-track" });
    const strongest = cues.reduce((a, c) => (c.intensity > a.intensity ? c : a), cues[0]);
    track.setAttribute("role", "img");
    track.setAttribute("aria-label", `Vibration intensity: ${cues.length} cues, strongest ` +
      `${Math.round(strongest.intensity * 100)}% at ${clock(strongest.time)}`);
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 1000 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    this.hapticSvg = svg;
    for (const cue of cues) {
      const env = cue.envelope && cue.envelope.length ? cue.envelope
        : [[0, cue.intensity], [cue.duration, cue.intensity]];
      const x = (t) => ((1000 * (cue.time + t)) / this.duration).toFixed(2);
      const pts = [`${x(0)},100`];
      for (const [t, level] of env) pts.push(`${x(t)},${(100 - 96 * level).toFixed(1)}`);
      pts.push(`${x(Math.max(cue.duration, env[env.length - 1][0]))},100`);
      const poly = document.createElementNS(ns, "polygon");
      poly.setAttribute("points", pts.join(" "));
      svg.append(poly);
    }
    track.append(svg);
    row.append(track);
    return row;
  }

  /** Mark events as missed by the user's captions (audit); ids from events.json. */
  markMissed(ids) {
    this.missed = new Set(ids);
    this.applyMissed();
  }

  applyMissed() {
    for (const item of this.items) {
      const missed = item.id !== null && this.missed.has(item.id);
      item.button.classList.toggle("missed", missed);
      item.button.setAttribute("aria-label", missed ? `${item.baseLabel}, missed by your captions`
        : item.baseLabel);
    }
  }

  /** Follow the video: move the playhead (and, zoomed, the window) to `seconds`. */
  setTime(seconds) {
    this.time = seconds;
    if (!this.playhead) return;
    if (!this.reveal(seconds)) this.place();
  }

  /** Draw the playhead at this.time within the current view (hidden outside it) and mark the active items. */
  place() {
    if (!this.playhead) return;
    const { start, span } = this.view();
    const frac = (this.time - start) / span;
    this.playhead.hidden = frac < 0 || frac > 1;
    // the playhead spans the lanes' track column: place it by the axis track's box
    const track = this.axisTrack.getBoundingClientRect();
    const box = this.root.getBoundingClientRect();
    this.playhead.style.left = `${track.left - box.left + track.width * Math.min(1, Math.max(0, frac))}px`;
    const t = this.time;
    for (const item of this.items) {
      item.button.classList.toggle("active", t >= item.start && t < Math.max(item.end, item.start + 0.1));
    }
  }

  focusItem(item, focus = true) {
    this.reveal(item.start);
    for (const other of this.items) other.button.tabIndex = -1;
    item.button.tabIndex = 0;
    if (focus) item.button.focus();
  }

  key(e) {
    const index = this.items.findIndex((it) => it.button === document.activeElement);
    if (index < 0) return;
    const item = this.items[index];
    const lane = this.lanes[item.lane];
    const pos = lane.indexOf(item);
    let next = null;
    if (e.key === "ArrowRight") next = lane[pos + 1];
    else if (e.key === "ArrowLeft") next = lane[pos - 1];
    else if (e.key === "Home") next = lane[0];
    else if (e.key === "End") next = lane[lane.length - 1];
    else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const other = this.lanes[item.lane + (e.key === "ArrowDown" ? 1 : -1)];
      if (other && other.length) {
        next = other.reduce((a, b) => (Math.abs(b.start - item.start) < Math.abs(a.start - item.start) ? b : a));
      }
    } else {
      return;
    }
    e.preventDefault();
    if (next) this.focusItem(next);
  }
}
