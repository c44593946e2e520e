// The public soundcue API as the page uses it: /v1/jobs with the user's key (kept in sessionStorage only)
// or a result's share link (?token=...), and /web/config.json for what this server offers.

const KEY_SLOT = "soundcue.apiKey";

/** An error answered by the API as RFC 9457 problem+json (or a network failure). */
export class ApiError extends Error {
  constructor(status, title, detail, body) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.body = body;
  }
}

export function storedKey() {
  try {
    return sessionStorage.getItem(KEY_SLOT) || "";
  } catch {
    return "";
  }
}

export function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_SLOT, key);
    else sessionStorage.removeItem(KEY_SLOT);
  } catch {
    // storage disabled: the key lives for this page only
  }
}

async function problem(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const title = (body && body.title) || `HTTP ${response.status}`;
  const detail = (body && body.detail) || response.statusText || "";
  return new ApiError(response.status, title, detail, body);
}

export class Api {
  constructor() {
    this.key = storedKey();
  }

  headers(extra = {}) {
    return this.key ? { Authorization: `Bearer ${this.key}`, ...extra } : { ...extra };
  }

  async json(path, init = {}) {
    let response;
    try {
      response = await fetch(path, { ...init, headers: this.headers(init.headers || {}) });
    } catch (e) {
      throw new ApiError(0, "The server cannot be reached", String(e.message || e), null);
    }
    if (!response.ok) throw await problem(response);
    if (response.status === 204) return null;
    return response.json();
  }

  config() {
    return this.json("/web/config.json");
  }

  /** Check the key against the API: resolves when it is accepted, rejects with the problem. */
  checkKey() {
    return this.json("/v1/jobs?limit=1");
  }

  job(id) {
    return this.json(`/v1/jobs/${encodeURIComponent(id)}`);
  }

  cancel(id) {
    return this.json(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  submitUrl(videoUrl, options) {
    return this.json("/v1/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ video_url: videoUrl, options }),
    });
  }

  /** Upload a file with the options (multipart), reporting upload progress as a fraction 0..1. */
  submitFile(file, options, onProgress = () => {}) {
    return this.upload("/v1/jobs", file, { options: JSON.stringify(options) }, onProgress);
  }

  /**
   * POST a multipart form: `file` as the part `part`, plus text `fields`; resolves with the parsed JSON
   * answer (or the text with `as: "text"`), rejects with an ApiError.
   */
  upload(path, file, fields, onProgress = () => {}, { part = "file", as = "json" } = {}) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      form.append(part, file, file.name);
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(as === "json" ? body : xhr.responseText);
        else reject(new ApiError(xhr.status, (body && body.title) || `HTTP ${xhr.status}`,
          (body && body.detail) || "", body));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, "The upload failed",
        "the connection to the server was lost", null)));
      xhr.send(form);
    });
  }

  /** Fetch a result by its URL (a share link needs no key); JSON or text. */
  async result(url, as = "json") {
    let response;
    try {
      response = await fetch(url, { headers: url.includes("token=") ? {} : this.headers() });
    } catch (e) {
      throw new ApiError(0, "The server cannot be reached", String(e.message || e), null);
    }
    if (!response.ok) throw await problem(response);
    return as === "json" ? response.json() : response.text();
  }
}
