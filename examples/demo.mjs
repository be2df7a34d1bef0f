#!/usr/bin/env node
// Deploys a preview, reads it, deletes it and reads it again, against a running Manifestor.
//
//   MANIFESTOR_URL=http://127.0.0.1:8080 MANIFESTOR_TOKEN=... node examples/demo.mjs
//
// Optional: MANIFESTOR_TASK_ID (default demo-<random>), MANIFESTOR_IMAGES as
// service=reference pairs separated by commas (default: the aiworker backend at tag demo),
// MANIFESTOR_PROJECT (default: the built-in aiworker), MANIFESTOR_TIMEOUT_MS.
//
// Prints one JSON line per step on stdout, and one JSON line per retry on stderr. Exits 0 when
// every step did what it should, 1 when a step failed (the failing step's line says why), 2 when
// the environment is incomplete. The token is never printed.
import { ManifestorClient, ManifestorError } from "./manifestor-client.mjs";

const env = process.env;

function print(stream, object) {
  stream.write(JSON.stringify(object) + "\n");
}

function parseImages(text) {
  const images = {};
  for (const pair of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`MANIFESTOR_IMAGES: "${pair}" is not service=reference`);
    images[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return images;
}

function errorLine(step, error) {
  if (error instanceof ManifestorError) {
    return { step, ok: false, status: error.status ?? null, code: error.code, message: error.message, attempts: error.attempts };
  }
  return { step, ok: false, code: "client", message: String(error?.message ?? error) };
}

async function main() {
  const baseUrl = env.MANIFESTOR_URL, token = env.MANIFESTOR_TOKEN;
  if (!baseUrl || !token) {
    print(process.stderr, { step: "config", ok: false, message: "set MANIFESTOR_URL and MANIFESTOR_TOKEN" });
    return 2;
  }
  const taskId = env.MANIFESTOR_TASK_ID || `demo-${Math.random().toString(36).slice(2, 8)}`;
  const images = parseImages(env.MANIFESTOR_IMAGES || "backend=git.fuq.tv/admin/aiworker-backend:demo");
  const client = new ManifestorClient({
    baseUrl, token,
    timeoutMs: env.MANIFESTOR_TIMEOUT_MS ? Number(env.MANIFESTOR_TIMEOUT_MS) : undefined,
    onRetry: (event) => print(process.stderr, { step: "retry", ...event }),
  });

  // Each step: what it calls, and what its answer must be for the demo to go on.
  const steps = [
    ["deploy", () => client.deployPreview(taskId, {
      images, ttl: "1h", requestedBy: "manifestor-example-client", project: env.MANIFESTOR_PROJECT || undefined,
    }), (p) => p && p.taskId === taskId,
    (p) => ({ taskId: p.taskId, changed: p.changed, commit: p.commit, namespace: p.namespace, url: p.url, path: p.path, expiresAt: p.expiresAt })],
    ["get", () => client.getPreview(taskId), (p) => p !== null && p.taskId === taskId,
      (p) => ({ taskId: p.taskId, images: p.images, commit: p.commit, expiresAt: p.expiresAt })],
    ["delete", () => client.deletePreview(taskId), (p) => p !== null,
      (p) => ({ taskId: p.taskId, commit: p.commit, path: p.path })],
    ["get-after-delete", () => client.getPreview(taskId), (p) => p === null, () => ({ taskId, found: false })],
  ];

  for (const [step, call, expected, summary] of steps) {
    const started = Date.now();
    let answer;
    try {
      answer = await call();
    } catch (error) {
      print(process.stdout, errorLine(step, error));
      return 1;
    }
    const ms = Date.now() - started;
    if (!expected(answer)) {
      print(process.stdout, { step, ok: false, ms, message: "unexpected answer", answer });
      return 1;
    }
    print(process.stdout, { step, ok: true, ms, ...summary(answer) });
  }
  return 0;
}

process.exitCode = await main().catch((error) => {
  print(process.stdout, errorLine("demo", error));
  return 1;
});
