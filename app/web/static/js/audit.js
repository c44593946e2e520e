// The audit panel: upload the captions a video already has; the server compares them with the sounds it
// found and the report lists coverage and the missed sounds, which the timeline marks. Shown only when the
// server advertises the audit endpoint (/web/config.json features.audit).

import { clock } from "./timeline.js";

function el(tag, text = null, cls = null) {
  const node = document.createElement(tag);
  if (text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

export class AuditPanel {
  /**
   * @param {object} parts
   * @param {import("./api.js").Api} parts.api
   * @param {HTMLFormElement} parts.form the audit form
   * @param {HTMLElement} parts.report where the report is shown
   * @param {(ids: string[]) => void} parts.onMissed told the event ids the captions miss
   */
  constructor({ api, form, report, onMissed }) {
    this.api = api;
    this.form = form;
    this.report = report;
    this.onMissed = onMissed;
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

  async run() {
    const file = this.form.querySelector('input[type="file"]').files[0];
    if (!file || !this.job || !this.path) return;
    const path = this.path.replace(/\{[^}]+\}/, encodeURIComponent(this.job.id));
    this.report.hidden = false;
    this.report.replaceChildren(el("p", "Auditing…"));
    try {
      const report = await this.api.upload(path, file, {});
      this.show(report);
    } catch (e) {
      this.report.replaceChildren(el("p", `The audit failed: ${e.message}`, "missed-label"));
    }
    this.report.focus();
  }

  show(report) {
    const missed = Array.isArray(report.missed) ? report.missed : [];
    const coverage = report.coverage && typeof report.coverage === "object" ? report.coverage.overall
      : report.coverage;
    const parts = [el("h4", "Audit report")];
    if (typeof coverage === "number") {
      parts.push(el("p", `Your captions cover ${Math.round(coverage * 100)}% of the sounds found.`, "figure"));
    }
    parts.push(el("p", missed.length ? `${missed.length} sound${missed.length === 1 ? "" : "s"} missed:`
      : "No sound is missed."));
    if (missed.length) {
      const list = el("ul");
      for (const m of missed) {
        const li = el("li");
        li.append(el("span", "MISSED ", "missed-label"),
          `${clock(m.start)}: ${m.caption || m.label}` + (m.suggested_cue ? `; suggested cue: ${m.suggested_cue}` : ""));
        list.append(li);
      }
      parts.push(list);
    }
    this.report.replaceChildren(...parts);
    this.onMissed(missed.map((m) => m.event_id || m.id).filter(Boolean));
  }
}
