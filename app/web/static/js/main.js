// The soundcue page: choose a video and options, follow the job, then play the video with its sound
// captions, Foley track and vibrations, look at the timeline, download the results, audit a caption file.
// Opened as /#job=<id> it shows that job (with the key in this tab); as /#job=<id>&token=<t> (a share
// link) it shows the results without a key.

import { Api, ApiError, storeKey } from "./api.js";
import { SoundSwitch } from "./foley.js";
import { Vibrator, vibrationSupported } from "./haptics.js";
import { Timeline, clock, shapeOf } from "./timeline.js";
import { AuditPanel } from "./audit.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 500;
/** Results a share link is tried for when it does not list them (events.json and captions.vtt always exist). */
const SHARED_RESULTS = ["events.json", "captions.vtt", "captions.srt", "captions.metadata.vtt", "captions.review.json",
  "haptics.json", "haptics.web.json", "haptics.ahap", "haptics.android.json", "timeline.png", "foley.wav", "foley.mp3",
  "foley.m4a", "video.mp4", "video.mkv", "video.webm"];

const api = new Api();
const state = {
  config: null,
  job: null,         // the job resource (null in a share view)
  token: null,       // the share token, when the page shows a share link
  source: null,      // {file} or {url}: the input of the job the page made, for playback and re-renders
  results: new Map(),  // name -> {name, url (what the page fetches), href (what a download/track uses), media_type, size_bytes}
  events: [],
  polling: 0,
  objectUrl: null,
};

const video = $("video");
const timeline = new Timeline($("timeline"), (t) => seek(t));
const vibrator = new Vibrator(video);
const sound = new SoundSwitch(video, $("foley-audio"));
const audit = new AuditPanel({ api, form: $("audit-form"), report: $("audit-report"), onMissed: showMissed,
  onSeek: (t) => { seek(t); video.focus(); } });

// -- messages --------------------------------------------------------------------------------------------

function showError(e) {
  const box = $("alert");
  box.textContent = e instanceof ApiError ? e.message : String(e && e.message ? e.message : e);
  box.hidden = false;
}

function clearError() {
  $("alert").hidden = true;
  $("alert").textContent = "";
}

// -- the API key -----------------------------------------------------------------------------------------

async function useKey(key) {
  api.key = key;
  storeKey(key);
  $("key-forget").hidden = !key;
  if (!key) {
    $("key-state").textContent = "No key: enter one to submit videos.";
    return false;
  }
  try {
    await api.checkKey();
    $("key-state").textContent = "Key accepted.";
    $("api-key").value = "";
    $("api-key").placeholder = "(a key is in use)";
    $("api-key").required = false;
    return true;
  } catch (e) {
    $("key-state").textContent = "";
    storeKey("");
    api.key = "";
    $("key-forget").hidden = true;
    showError(e);
    return false;
  }
}

$("key-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearError();
  const key = $("api-key").value.trim();
  // a job in the address (a reload, or a link to your own job) opens once the key is known
  if (key && (await useKey(key)) && !state.job && !state.token) await openFromHash();
});

$("key-forget").addEventListener("click", async () => {
  await useKey("");
  $("api-key").placeholder = "";
  $("api-key").required = true;
  $("api-key").focus();
});

// -- the job form ----------------------------------------------------------------------------------------

function sourceKind() {
  return document.querySelector('input[name="source"]:checked').value;
}

for (const radio of document.querySelectorAll('input[name="source"]')) {
  radio.addEventListener("change", () => {
    $("file-field").hidden = sourceKind() !== "file";
    $("url-field").hidden = sourceKind() !== "url";
  });
}

for (const [range, out] of [["foley-music-intensity", "foley-music-value"], ["rerender-intensity", "rerender-intensity-value"]]) {
  $(range).addEventListener("input", () => { $(out).textContent = `${Math.round($(range).value * 100)}%`; });
}

/** The Foley part of the job options (the API's "foley" family). */
function foleyOptions(profile, music, intensity) {
  return { profile, music, music_intensity: Number(intensity), audio_format: $("foley-format").value };
}

function jobOptions() {
  const outputs = ["events", "vtt"];
  for (const box of document.querySelectorAll('#outputs input[name="outputs"]')) {
    if (box.checked && !box.closest("[hidden]")) outputs.push(box.value);
  }
  const options = {
    outputs,
    captions: { style: $("style").value },
    haptics: { profile: $("haptic-profile").value },
  };
  if ($("visual").checked) options.visual = true;
  if (outputs.includes("audio") || outputs.includes("video")) {
    options.foley = foleyOptions($("foley-profile").value, $("foley-music").checked, $("foley-music-intensity").value);
  }
  return options;
}

async function submit(source, options) {
  clearError();
  showProgress({ status: "uploading", progress: 0, stage: null });
  try {
    let job;
    if (source.file) {
      job = await api.submitFile(source.file, options, (f) => showProgress({ status: "uploading", progress: f }));
    } else {
      job = await api.submitUrl(source.url, options);
    }
    state.source = source;
    state.token = null;
    history.replaceState(null, "", `#job=${encodeURIComponent(job.id)}`);
    follow(job);
  } catch (e) {
    $("progress-panel").hidden = true;
    $("submit-panel").hidden = false;
    showError(e);
  }
}

$("job-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (state.config && state.config.auth_required && !api.key) {
    showError(new Error("Enter your API key first (above)."));
    $("api-key").focus();
    return;
  }
  let source;
  if (sourceKind() === "file") {
    const file = $("file").files[0];
    if (!file) {
      showError(new Error("Choose a video or audio file first."));
      $("file").focus();
      return;
    }
    source = { file };
  } else {
    const url = $("video-url").value.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) {
      showError(new Error("Give the address of the video, starting with http:// or https://."));
      $("video-url").focus();
      return;
    }
    source = { url };
  }
  submit(source, jobOptions());
});

// -- progress --------------------------------------------------------------------------------------------

function showProgress(job) {
  $("submit-panel").hidden = true;
  $("results-panel").hidden = true;
  $("progress-panel").hidden = false;
  $("progress").value = job.progress || 0;
  const pct = Math.round((job.progress || 0) * 100);
  const what = job.status === "uploading" ? "uploading the file" : `${job.status}${job.stage ? `: ${job.stage}` : ""}`;
  $("progress-text").textContent = `${what} (${pct}%)`;
  $("cancel").hidden = job.status === "uploading";
}

function follow(job) {
  clearTimeout(state.polling);
  state.job = job;
  showProgress(job);
  if (job.status === "succeeded") {
    showResults(job);
    return;
  }
  if (job.status === "failed" || job.status === "canceled") {
    $("progress-panel").hidden = true;
    $("submit-panel").hidden = false;
    const reason = job.error ? `${job.error.title}: ${job.error.detail}` : `the job was ${job.status}`;
    showError(new Error(reason));
    return;
  }
  state.polling = setTimeout(async () => {
    try {
      follow(await api.job(job.id));
    } catch (e) {
      showError(e);
      state.polling = setTimeout(() => follow(job), POLL_MS * 4);
    }
  }, POLL_MS);
}

$("cancel").addEventListener("click", async () => {
  if (!state.job) return;
  clearTimeout(state.polling);
  try {
    await api.cancel(state.job.id);
  } catch (e) {
    showError(e);
  }
  $("progress-panel").hidden = true;
  $("submit-panel").hidden = false;
  history.replaceState(null, "", location.pathname);
  $("submit").focus();
});

// -- results ---------------------------------------------------------------------------------------------

function tokenOf(shareUrl) {
  const m = /[?&]token=([^&#]+)/.exec(shareUrl);
  return m ? decodeURIComponent(m[1]) : null;
}

function setVideoSource() {
  const src = state.source;
  if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
  state.objectUrl = null;
  let url = null;
  if (src && src.file) url = state.objectUrl = URL.createObjectURL(src.file);
  else if (src && src.url) url = src.url;
  $("need-video").hidden = Boolean(url);
  if (url) video.src = url;
  else video.removeAttribute("src");
}

$("local-video").addEventListener("change", () => {
  const file = $("local-video").files[0];
  if (!file) return;
  state.source = { file };
  setVideoSource();
  video.focus();
});

/** Replace the caption <track> (a fresh element loads the new source) and show it. */
function loadTrack(href) {
  const old = $("caption-track");
  const track = document.createElement("track");
  track.id = "caption-track";
  track.kind = "captions";
  track.srclang = "en";
  track.label = "Sounds (soundcue)";
  track.default = true;
  track.src = href;
  old.replaceWith(track);
  track.track.mode = $("captions-on").checked ? "showing" : "hidden";
  return new Promise((done) => {
    if (track.readyState === 2) done(track);
    track.addEventListener("load", () => done(track), { once: true });
    track.addEventListener("error", () => done(track), { once: true });
  });
}

$("captions-on").addEventListener("change", () => {
  const track = $("caption-track").track;
  track.mode = $("captions-on").checked ? "showing" : "hidden";
});
// the player's own captions menu switches the track too: keep the checkbox true to what is shown
video.textTracks.addEventListener("change", () => {
  const track = $("caption-track").track;
  $("captions-on").checked = track.mode === "showing";
});

function cuesOf(trackElement) {
  const cues = trackElement.track.cues;
  return cues ? [...cues].map((c) => ({ start: c.startTime, end: c.endTime, text: c.text.replace(/\n/g, " ") })) : [];
}

function seek(t) {
  video.currentTime = t;
  timeline.setTime(t);
}

function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function renderDownloads() {
  const list = $("downloads");
  list.replaceChildren();
  for (const r of state.results.values()) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = r.href;
    a.download = r.name.split("/").pop();
    a.textContent = r.name;
    li.append(a);
    if (r.size_bytes !== undefined) {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = ` (${humanSize(r.size_bytes)})`;
      li.append(meta);
    }
    list.append(li);
  }
}

function renderEventRows(events) {
  const body = $("event-rows");
  body.replaceChildren();
  for (const ev of events) {
    const tr = document.createElement("tr");
    tr.dataset.eventId = ev.id;
    const go = document.createElement("button");
    go.type = "button";
    go.textContent = clock(ev.start);
    go.setAttribute("aria-label", `Go to ${ev.caption || ev.label} at ${clock(ev.start)}`);
    go.addEventListener("click", () => { seek(ev.start); video.focus(); });
    const cells = [go, clock(ev.end), ev.caption || ev.label, `${shapeOf(ev.category)} ${ev.category}`,
      `${Math.round((ev.confidence || 0) * 100)}%`, ""];
    for (const value of cells) {
      const td = document.createElement("td");
      td.append(value);
      tr.append(td);
    }
    body.append(tr);
  }
}

/** Mark the sounds the audit found missing: by event id, else by label and onset (within 50 ms). */
function showMissed(missed) {
  const ids = [];
  for (const m of missed) {
    const ev = state.events.find((e) => e.id === m.id && e.label === m.label)
      || state.events.find((e) => e.label === m.label && Math.abs(e.start - m.start) < 0.05);
    if (ev) ids.push(ev.id);
  }
  timeline.markMissed(ids);
  for (const tr of $("event-rows").children) {
    const missed = ids.includes(tr.dataset.eventId);
    tr.classList.toggle("missed", missed);
    tr.lastChild.textContent = missed ? "missed" : "";
  }
}

async function showResults(job) {
  state.results = new Map();
  for (const r of job.results) {
    // the track, the Foley <audio> and downloads cannot send a key: they use the share link
    state.results.set(r.name, { ...r, href: r.share_url, url: r.share_url });
  }
  if (!state.token && job.results.length) state.token = tokenOf(job.results[0].share_url);
  presetRerender(job.options && job.options.foley);
  await presentResults(job.source);
}

/** A new render starts from the Foley options the job was made with. */
function presetRerender(foley) {
  if (!foley) return;
  if (foley.profile) $("rerender-profile").value = foley.profile;
  $("rerender-music").checked = Boolean(foley.music);
  if (typeof foley.music_intensity === "number") {
    $("rerender-intensity").value = String(foley.music_intensity);
    $("rerender-intensity-value").textContent = `${Math.round(foley.music_intensity * 100)}%`;
  }
}

async function presentResults(source) {
  $("submit-panel").hidden = true;
  $("progress-panel").hidden = true;
  $("results-panel").hidden = false;
  clearError();
  setVideoSource();
  const get = (name) => state.results.get(name);
  let events = { events: [], media: {} };
  try {
    events = await api.result(get("events.json").url, "json");
  } catch (e) {
    showError(e);
  }
  state.events = events.events || [];
  const duration = (events.media && events.media.duration) || video.duration || 0;
  const name = (source && (source.filename || source.url)) || (events.media && events.media.path) || "the video";
  const n = state.events.filter((e) => !e.background).length;
  const beds = state.events.length - n;
  const bedText = beds ? ` and ${beds} background bed${beds === 1 ? "" : "s"}` : "";
  $("results-summary").textContent = `${name}: ${n} sound${n === 1 ? "" : "s"}${bedText} found in ${clock(duration)}.`;
  const vtt = get("captions.vtt");
  const track = vtt ? await loadTrack(vtt.href) : null;
  let haptics = null;
  if (get("haptics.json")) {
    try {
      haptics = await api.result(get("haptics.json").url, "json");
    } catch {
      haptics = null;
    }
  }
  timeline.render({ duration, events: state.events, cues: track ? cuesOf(track) : [], haptics });
  // a long video is shown a minute at a time (labels stay readable); the window follows the playhead
  $("zoom").value = duration > 120 ? "60" : "0";
  timeline.setSpan(Number($("zoom").value));
  renderEventRows(state.events);
  renderDownloads();
  // vibrations
  const web = get("haptics.web.json");
  $("feel-it").disabled = !web || !vibrationSupported();
  $("feel-help").textContent = !web ? "No vibration track in this job (choose the Vibrations output)."
    : vibrationSupported() ? "Vibrates this device in time with the sounds while the video plays."
      : "This browser cannot vibrate (the Web Vibration API works on most Android phones).";
  if (web) {
    try {
      vibrator.load(await api.result(web.url, "json"));
    } catch (e) {
      showError(e);
    }
  } else {
    vibrator.load(null);
  }
  // Foley
  const foley = [...state.results.values()].find((r) => r.media_type && r.media_type.startsWith("audio/"));
  sound.load(foley ? foley.href : null);
  $("sound-switch").hidden = !foley;
  $("rerender-form").hidden = !(state.config && state.config.features.foley && state.job);
  // share
  if (state.job && state.token) {
    const params = new URLSearchParams({ job: state.job.id, token: state.token });
    if (state.source && state.source.url) params.set("src", state.source.url);
    params.set("results", [...state.results.keys()].join(","));  // what to show, without probing
    $("share-link").value = `${location.origin}/#${params}`;
    $("share").hidden = false;
  } else {
    $("share").hidden = !state.token;
    if (state.token) $("share-link").value = location.href;
  }
  audit.setJob(state.job, state.config && state.config.features.audit);
  $("results-heading").tabIndex = -1;
  $("results-heading").focus();
}

$("share-copy").addEventListener("click", async () => {
  $("share-link").select();
  try {
    await navigator.clipboard.writeText($("share-link").value);
    $("share-copy").textContent = "Copied";
  } catch {
    $("share-copy").textContent = "Select and copy";
  }
});

$("sound-switch").addEventListener("change", (e) => {
  if (e.target.name === "sound") sound.set(e.target.value);
});

$("feel-it").addEventListener("change", () => vibrator.setEnabled($("feel-it").checked));
$("zoom").addEventListener("change", () => timeline.setSpan(Number($("zoom").value)));

$("rerender-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!state.source) {
    showError(new Error("Open the video file first (above the player): a new render needs the video."));
    $("local-video").focus();
    return;
  }
  const options = jobOptions();
  for (const out of ["audio"]) if (!options.outputs.includes(out)) options.outputs.push(out);
  options.foley = foleyOptions($("rerender-profile").value, $("rerender-music").checked, $("rerender-intensity").value);
  submit(state.source, options);
});

$("new-job").addEventListener("click", () => {
  clearTimeout(state.polling);
  vibrator.stop();
  video.pause();
  state.job = null;
  state.token = null;
  history.replaceState(null, "", location.pathname);
  $("results-panel").hidden = true;
  $("submit-panel").hidden = false;
  $("submit-heading").tabIndex = -1;
  $("submit-heading").focus();
});

// playhead
function frame() {
  timeline.setTime(video.currentTime);
  $("now").textContent = `${clock(video.currentTime)} / ${clock(timeline.duration)}`;
  if (!video.paused) requestAnimationFrame(frame);
}
video.addEventListener("play", () => requestAnimationFrame(frame));
video.addEventListener("seeked", frame);
video.addEventListener("timeupdate", frame);

// -- a job or share link in the address ------------------------------------------------------------------

async function openShare(params) {
  const id = params.get("job");
  const token = params.get("token");
  state.job = null;
  state.token = token;
  state.source = params.get("src") ? { url: params.get("src") } : null;
  const names = params.get("results") ? params.get("results").split(",") : SHARED_RESULTS;
  state.results = new Map();
  const base = `/v1/jobs/${encodeURIComponent(id)}/`;
  const found = await Promise.all(names.map(async (name) => {
    const href = `${base}${name.split("/").map(encodeURIComponent).join("/")}?token=${encodeURIComponent(token)}`;
    try {
      const r = await fetch(href, { method: "HEAD" });
      return r.ok ? { name, href, url: href, media_type: r.headers.get("content-type") || "",
        size_bytes: Number(r.headers.get("content-length") || 0) } : null;
    } catch {
      return null;
    }
  }));
  for (const r of found) if (r) state.results.set(r.name, r);
  if (!state.results.has("events.json")) {
    showError(new Error("This share link does not open any results: the job may have expired or been deleted."));
    return;
  }
  await presentResults(null);
}

async function openFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.get("job")) return;
  if (params.get("token")) {
    await openShare(params);
    return;
  }
  if (!api.key && state.config.auth_required) return;
  try {
    follow(await api.job(params.get("job")));
  } catch (e) {
    showError(e);
  }
}

async function start() {
  try {
    state.config = await api.config();
  } catch (e) {
    showError(e);
    state.config = { auth_required: true, url_input: true, features: { foley: false, audit: null } };
  }
  $("version").textContent = state.config.version || "";
  $("key-panel").hidden = !state.config.auth_required;
  for (const node of document.querySelectorAll(".foley-only")) {
    if (node.id !== "rerender-form") node.hidden = !state.config.features.foley;
  }
  if (!state.config.url_input) {
    $("src-url").disabled = true;
    $("src-url").nextElementSibling.textContent = "A web address (this server accepts uploads only)";
  }
  if (state.config.auth_required && api.key) await useKey(api.key);
  else if (state.config.auth_required) $("key-state").textContent = "No key yet: enter one to submit videos.";
  const sharing = new URLSearchParams(location.hash.slice(1)).get("token");
  if (state.config.auth_required && !api.key && !sharing) $("api-key").focus();
  await openFromHash();
  document.body.dataset.ready = "true";
}

window.addEventListener("hashchange", () => openFromHash());
start();
