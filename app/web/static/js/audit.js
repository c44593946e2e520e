// The audit panel: upload the captions a video already has; the server compares them with the sounds it
// found (audit.json, schema captioning/data/audit.schema.json) and the page shows the coverage, the missed
// sounds with a cue to paste, the cues no sound supports, naming disagreements and style problems, and marks
// the missed sounds on the timeline. Shown only when the server advertises the audit endpoint
// (/web/config.json features.audit).

import { clock } from "./timeline.js";

function el(tag, text = null, cls = null) {
  const node = document.createElement(tag);
  if (text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function pct(ratio) {
  return `${Math.round((ratio || 0) * 100)}%`;
}

function table(caption, headers, rows) {
  const t = el("table");
  t.append(el("caption", caption));
  const head = el("tr");
  for (const h of headers) {
    const th = el("th", h);
    th.scope = "col";
    head.append(th);
  }
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const cell of row) {
      const td = el("td");
      td.append(cell);
      tr.append(td);
    }
    body.append(tr);
  }
  t.append(thead, body);
  return t;
}

export class AuditPanel {
  /**
   * @param {object} parts
   * @param {import("./api.js").Api} parts.api
   * @param {HTMLFormElement} parts.form the audit form
   * @param {HTMLElement} parts.report where the report is shown
   * @param {(missed: object[]) => void} parts.onMissed told the missed events (audit.json events)
   * @param {(seconds: number) => void} parts.onSeek called by the report's time buttons
   */
  constructor({ api, form, report, onMissed, onSeek }) {
    this.api = api;
    this.form = form;
    this.report = report;
    this.onMissed = onMissed;
    this.onSeek = onSeek;
    this.job = null;
    this.path = null;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.run();
    });
  }

  /** Show the panel for `job` when the server has an audit endpoint (`pathTemplate`, e.g. /v1/jobs/{job_id}/audit). */
  setJob(job, pathTemplate) {
    this.job = job;
    this.path = pathTemplate;
    this.form.hidden = !(job && pathTemplate);
    this.report.hidden = true;
    this.report.replaceChildren();
  }

  /** The audit request: the job's endpoint, the caption file as `captions`, the job's caption style. */
  request(file, format) {
    const path = this.path.replace(/\{[^}]+\}/, encodeURIComponent(this.job.id));
    const captions = (this.job.options && this.job.options.captions) || {};
    const options = captions.style ? { style: captions.style } : {};
    return this.api.upload(`${path}?format=${format}`, file, { options: JSON.stringify(options) }, () => {},
      { part: "captions", as: format === "json" ? "json" : "text" });
  }

  async run() {
    const file = this.form.querySelector('input[type="file"]').files[0];
    if (!file || !this.job || !this.path) return;
    this.report.hidden = false;
    this.report.replaceChildren(el("p", "Auditing… (the first audit on a server loads a language model)"));
    try {
      const report = await this.request(file, "json");
      this.show(report);
      this.report.append(this.saveLinks(file, report));
    } catch (e) {
      this.report.replaceChildren(el("p", `The audit failed: ${e.message}`, "missed-label"));
    }
    this.report.focus();
  }

  /** "Save the report" as audit.json (what the page has) or as the server's HTML page. */
  saveLinks(file, report) {
    const box = el("p", "Save the report: ");
    const json = el("a", "audit.json");
    json.href = URL.createObjectURL(new Blob([JSON.stringify(report, null, 1)], { type: "application/json" }));
    json.download = "audit.json";
    const html = el("button", "HTML page (with its timeline plot)");
    html.type = "button";
    html.addEventListener("click", async () => {
      html.disabled = true;
      try {
        const page = await this.request(file, "html");
        const a = el("a");
        a.href = URL.createObjectURL(new Blob([page], { type: "text/html" }));
        a.download = "audit.html";
        document.body.append(a);
        a.click();
        a.remove();
      } catch (e) {
        box.append(el("span", ` (the HTML report failed: ${e.message})`, "missed-label"));
      }
      html.disabled = false;
    });
    box.append(json, " or ", html);
    return box;
  }

  timeButton(seconds, what) {
    const b = el("button", clock(seconds));
    b.type = "button";
    b.setAttribute("aria-label", `Go to ${what} at ${clock(seconds)}`);
    b.addEventListener("click", () => this.onSeek(seconds));
    return b;
  }

  show(report) {
    const s = report.summary || {};
    const missed = Array.isArray(report.missed) ? report.missed : [];
    const parts = [el("h4", "Audit report")];
    const verdict = s.passed === true ? " (meets the required coverage)"
      : s.passed === false ? ` (below the required ${pct(s.min_coverage)})` : "";
    parts.push(el("p", `Your captions cover ${pct(s.coverage)} of the ${s.salient_events} sounds that matter` +
      `${verdict}: ${s.covered} described, ${s.named_differently} named differently, ${s.missed} missed.`, "figure"));

    if (Array.isArray(report.categories) && report.categories.length) {
      parts.push(table("Coverage by category", ["Category", "Sounds", "Covered", "Named differently", "Missed",
        "Coverage"], report.categories.map((c) => [c.category, String(c.salient_events), String(c.covered),
        String(c.named_differently), String(c.missed), pct(c.coverage)])));
    }

    parts.push(el("h5", missed.length ? `Missed sounds (${missed.length})` : "No sound is missed"));
    if (missed.length) {
      parts.push(table("Missed sounds, with a cue to paste", ["Time", "Sound", "Confidence", "Loudness",
        "Suggested cue"], missed.map((m) => {
        const sound = el("span");
        sound.append(el("strong", "MISSED ", "missed-label"), m.event.caption);
        return [this.timeButton(m.event.start, m.event.caption), sound, pct(m.event.confidence),
          `${m.event.loudness} dBFS`, el("code", m.suggested_cue ? m.suggested_cue.vtt : "")];
      })));
    }

    const unsupported = Array.isArray(report.unsupported_cues) ? report.unsupported_cues : [];
    if (unsupported.length) {
      parts.push(el("h5", `Cues no detected sound supports (${unsupported.length})`));
      parts.push(table("Cues without a matching sound", ["Time", "Cue", "Nearest sound"], unsupported.map((u) => [
        this.timeButton(u.cue.start, u.cue.text), u.cue.text,
        u.nearest ? `${u.nearest.event.caption} (${u.nearest.offset_s > 0 ? "+" : ""}${u.nearest.offset_s} s)` : "none",
      ])));
    }

    const naming = Array.isArray(report.naming_disagreements) ? report.naming_disagreements : [];
    if (naming.length) {
      parts.push(el("h5", `Named differently (${naming.length})`));
      parts.push(table("Cues that name a sound otherwise", ["Time", "Your cue", "soundcue heard"], naming.map((n) => [
        this.timeButton(n.cue.start, n.cue.text), n.cue.text, n.event.caption])));
    }

    const violations = report.compliance && Array.isArray(report.compliance.violations)
      ? report.compliance.violations : [];
    parts.push(el("h5", violations.length ? `Style problems (${violations.length}, ${report.compliance.style})`
      : "No timing or style problem"));
    if (violations.length) {
      const list = el("ul");
      for (const v of violations.slice(0, 50)) list.append(el("li", `${clock(v.start)} ${v.rule}: ${v.message}`));
      parts.push(list);
    }
    this.report.replaceChildren(...parts);
    this.onMissed(missed.map((m) => m.event));
  }
}
