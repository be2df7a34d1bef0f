// A small client for Manifestor's preview API, for Node 18+ with its built-in fetch and no
// dependencies. Copy this file into a backend; it is plain JavaScript with JSDoc types, so a
// TypeScript project can import it (allowJs/checkJs) or port it line by line.
//
//   import { ManifestorClient } from "./manifestor-client.mjs";
//   const manifestor = new ManifestorClient({ baseUrl: "http://manifestor:8080", token });
//   const preview = await manifestor.deployPreview("abc123", { images: { backend: "registry/app:pr-5" } });
//
// Retries. Every write Manifestor offers is idempotent: deploying the same images to the same
// task again answers 200 with `changed: false` and makes no commit, and deleting a preview that
// is already gone answers 404 preview_not_found, which deletePreview treats as done. So a request
// whose answer was lost (timeout, reset connection) or that was refused with 503 can simply be
// sent again; that is what this client does, within bounds:
//   - 503 (the git remote or the registry can't be reached, or the server is not ready yet):
//     wait what Retry-After says (seconds), then try again;
//   - a network error or a timed-out attempt: wait an exponential, jittered backoff, try again;
//   - at most `maxAttempts` attempts in all, and never past `deadlineMs` from the first one;
//   - any 4xx is the caller's mistake (bad task id, unknown service, missing role, ...): it is
//     thrown at once and never retried, since sending it again would get the same answer.
//   - any other status (500, 502, ...) is thrown at once as well.
//
// The bearer token lives in a private field: it is sent in the Authorization header and nowhere
// else, and it is never part of an error, a retry event or anything this module prints.

/** @typedef {{ code: string, message: string }} ErrorBody */
/**
 * What Manifestor answers for a preview (see the Preview schema in /openapi.yaml).
 * @typedef {{ project: string, taskId: string, namespace: string, url: string, path: string,
 *   commit: string | null, expiresAt: string | null, changed?: boolean,
 *   images: Record<string, string> }} Preview
 */
/**
 * Reported before each retry: which attempt failed, why, and how long the client waits.
 * @typedef {{ method: string, path: string, attempt: number, delayMs: number,
 *   status?: number, code?: string, retryAfterSeconds?: number, reason: string }} RetryEvent
 */

/** An answer that is not a success, or a request that could not be completed. */
export class ManifestorError extends Error {
  /**
   * @param {string} message
   * @param {{ status?: number, code: string, method: string, path: string, attempts: number,
   *   retryAfterSeconds?: number, cause?: unknown }} details
   */
  constructor(message, details) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ManifestorError";
    /** HTTP status, or undefined when no answer came (network error, timeout). */
    this.status = details.status;
    /** Manifestor's error code (e.g. invalid_task_id, unavailable), or network / timeout. */
    this.code = details.code;
    this.method = details.method;
    this.path = details.path;
    /** How many requests were sent before giving up. */
    this.attempts = details.attempts;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** True for errors a later call might not get (503, network errors, timeouts). */
  get transient() {
    return this.status === undefined || this.status === 503;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retry-After as seconds: a number of seconds, or an HTTP date. Undefined if absent or odd. */
function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

export class ManifestorClient {
  #token;
  #baseUrl;
  #fetch;

  /**
   * @param {{ baseUrl: string, token: string, timeoutMs?: number, maxAttempts?: number,
   *   deadlineMs?: number, maxRetryAfterSeconds?: number, backoffBaseMs?: number,
   *   backoffMaxMs?: number, onRetry?: (event: RetryEvent) => void,
   *   fetch?: typeof globalThis.fetch }} options
   */
  constructor(options) {
    const { baseUrl, token } = options ?? {};
    if (typeof baseUrl !== "string" || baseUrl === "") throw new TypeError("baseUrl is required");
    if (typeof token !== "string" || token === "") throw new TypeError("token is required");
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
    this.#token = token;
    this.#fetch = options.fetch ?? globalThis.fetch;
    /** One attempt, answer body included, is aborted after this long. */
    this.timeoutMs = options.timeoutMs ?? 30_000;
    /** Attempts in all, the first one included. */
    this.maxAttempts = options.maxAttempts ?? 5;
    /** No attempt starts, and no wait is begun, past this long after the first attempt. */
    this.deadlineMs = options.deadlineMs ?? 120_000;
    /** A Retry-After above this is waited as this (a misbehaving proxy can't stall us for hours). */
    this.maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 60;
    this.backoffBaseMs = options.backoffBaseMs ?? 250;
    this.backoffMaxMs = options.backoffMaxMs ?? 8_000;
    this.onRetry = options.onRetry;
  }

  /** The token is private; keep it out of console.log and JSON.stringify as well. */
  toJSON() {
    return { baseUrl: this.#baseUrl, token: "[redacted]" };
  }

  /**
   * POST /api/tasks/{id}/deploy-preview: render and commit preview/task-{id}/.
   * Answers the preview; `changed` is false when it already ran exactly these images
   * (status 200, no commit), true when a commit was pushed (status 201).
   * @param {string} taskId
   * @param {{ images: Record<string, string>, ttl?: string, requestedBy?: string, project?: string }} request
   * @returns {Promise<Preview>}
   */
  async deployPreview(taskId, { images, ttl, requestedBy, project } = {}) {
    const body = { images };
    if (ttl !== undefined) body.ttl = ttl;
    if (requestedBy !== undefined) body.requestedBy = requestedBy;
    if (project !== undefined) body.project = project;
    const { body: answer } = await this.#request("POST", `/api/tasks/${taskPath(taskId)}/deploy-preview`, body);
    return answer;
  }

  /**
   * GET /api/tasks/{id}/preview: the preview of a task, or null when there is none.
   * @param {string} taskId
   * @returns {Promise<Preview | null>}
   */
  async getPreview(taskId) {
    try {
      const { body } = await this.#request("GET", `/api/tasks/${taskPath(taskId)}/preview`);
      return body;
    } catch (error) {
      if (isPreviewNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * DELETE /api/tasks/{id}/preview: remove preview/task-{id}/ in one commit. Answers the preview
   * that was removed (with the commit that removed it), or null when it was already gone: a
   * retried delete whose first answer was lost lands here, and that is a success.
   * @param {string} taskId
   * @returns {Promise<Preview | null>}
   */
  async deletePreview(taskId) {
    try {
      const { body } = await this.#request("DELETE", `/api/tasks/${taskPath(taskId)}/preview`);
      return body;
    } catch (error) {
      if (isPreviewNotFound(error)) return null;
      throw error;
    }
  }

  /** Sends one request with the retry rules above; resolves with a 2xx answer or throws. */
  async #request(method, path, body) {
    const started = Date.now();
    const deadline = started + this.deadlineMs;
    let attempt = 0;
    for (;;) {
      attempt += 1;
      let outcome;
      const attemptStarted = Date.now();
      try {
        outcome = await this.#attempt(method, path, body, deadline);
      } catch (cause) {
        const timedOut = cause?.name === "AbortError" || cause?.name === "TimeoutError";
        outcome = {
          error: new ManifestorError(
            `${method} ${path}: ${timedOut ? `no answer within ${Date.now() - attemptStarted} ms` : `network error: ${describe(cause)}`}`,
            { code: timedOut ? "timeout" : "network", method, path, attempts: attempt, cause }),
        };
      }
      if (!outcome.error) return outcome;

      const { error } = outcome;
      error.attempts = attempt;
      // Retry-After when the server gave one (plus a little jitter, so that many clients told
      // the same number do not all come back at once), else the backoff.
      const delayMs = error.retryAfterSeconds === undefined
        ? this.#backoff(attempt)
        : Math.min(error.retryAfterSeconds, this.maxRetryAfterSeconds) * 1000 + Math.floor(Math.random() * 250);
      const retryable = error.status === undefined || error.status === 503;
      if (!retryable || attempt >= this.maxAttempts || Date.now() + delayMs >= deadline) throw error;
      this.onRetry?.({
        method, path, attempt, delayMs, status: error.status, code: error.code,
        retryAfterSeconds: error.retryAfterSeconds, reason: error.message,
      });
      await sleep(delayMs);
    }
  }

  /** One attempt: an answer (2xx), or `{error}` for an error answer. Throws on network errors and timeouts. */
  async #attempt(method, path, body, deadline) {
    const controller = new AbortController();
    const timeout = Math.max(1, Math.min(this.timeoutMs, deadline - Date.now()));
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      const headers = { Authorization: `Bearer ${this.#token}`, Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const response = await this.#fetch(this.#baseUrl + path, {
        method, headers, signal: controller.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text(); // inside the timeout: a stalled body is a timeout too
      const json = parseJSON(text);
      if (response.ok) return { status: response.status, body: json };

      const { code, message } = errorBody(json, response.status);
      const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
      const error = new ManifestorError(`${method} ${path}: ${response.status} ${code}: ${message}`,
        { status: response.status, code, method, path, attempts: 1, retryAfterSeconds });
      return { error };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Exponential backoff with jitter: half of the step fixed, half random, capped. */
  #backoff(attempt) {
    const step = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (attempt - 1));
    return Math.floor(step / 2 + Math.random() * (step / 2));
  }
}

function taskPath(taskId) {
  if (typeof taskId !== "string" || taskId === "") throw new TypeError("taskId must be a non-empty string");
  // Encoded, so that an odd id ("../x") reaches the server as one path segment and is refused
  // there (400 invalid_task_id) instead of being resolved into another URL by fetch.
  return encodeURIComponent(taskId);
}

function isPreviewNotFound(error) {
  return error instanceof ManifestorError && error.status === 404 && error.code === "preview_not_found";
}

function parseJSON(text) {
  if (text === "") return undefined;
  try { return JSON.parse(text); } catch { return undefined; }
}

/** Manifestor's `{"error": {"code", "message"}}`, or a stand-in when something else answered. */
function errorBody(json, status) {
  const inner = json && typeof json === "object" ? json.error : undefined;
  if (inner && typeof inner.code === "string" && typeof inner.message === "string") {
    return { code: inner.code, message: inner.message };
  }
  return { code: `http_${status}`, message: "the answer carried no Manifestor error body" };
}

function describe(cause) {
  const inner = cause?.cause;
  const detail = inner?.code ?? inner?.message;
  return detail ? `${cause.message} (${detail})` : String(cause?.message ?? cause);
}
