// Drive npm @runware/sdk-js (WebSocket) through one scenario against vidmock.
//
// Usage: node sdk_js_client.mjs [--number-results N] {t2v|i2v|invalid-size|invalid-key|drop|dry-run|media},
// with VIDMOCK_WS_URL and VIDMOCK_API_KEY set; the SDK is loaded from
// ${VIDMOCK_SDK_HOME:-~/.cache/vidmock-sdk}/node.
// Prints one JSON line; exits 0 when the script itself worked. With VIDMOCK_CLIENT_STRICT=1 it exits
// as an application would (client_common.py): 1 when the SDK rejected or a result is flagged NSFW.
// dry-run opens the SDK with dryRun: true (it adds ?dryRun=1 to the socket URL) and returns the first
// reply to a t2v task (skipResponse: a dry run starts no task to poll); media stores the first frame
// with mediaStorage, makes a video from its mediaUUID, reads getTaskDetails of the upload and deletes it.
//
// Pitfalls: the SDK connects from its constructor, and with the URL exactly "ws://localhost:8080"
// (its TEST constant) it never connects at all; errors are rejected as plain objects
// ({error: {...}}) or strings, not Error instances.
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { deflateSync, crc32 } from "node:zlib";

const SCENARIOS = ["t2v", "i2v", "invalid-size", "invalid-key", "drop", "dry-run", "media"];
const PROMPT = "a red fox running through fresh snow, cinematic";
const CLIENT_TIMEOUT_MS = Number(process.env.VIDMOCK_CLIENT_TIMEOUT ?? "90") * 1000;

function fail(message) {
  console.error(message);
  process.exit(2);
}

function requiredEnv(name) {
  return process.env[name] || fail(`${name} is not set`);
}

// Only the loopback interface: never Runware's real hosts.
function loopbackUrl(url) {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  if (!(host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host))) fail(`refusing non-loopback URL ${url}`);
  return url;
}

function png(width, height) {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      rows[at] = Math.floor((x * 255) / width);
      rows[at + 1] = Math.floor((y * 255) / height);
      rows[at + 2] = 128;
    }
  }
  const chunk = (kind, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(kind), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

function firstFrame() {
  return process.env.VIDMOCK_I2V_IMAGE || `data:image/png;base64,${png(320, 180).toString("base64")}`;
}

// The platform tasks around a video: mediaStorage upload, a video from its mediaUUID,
// getTaskDetails of the upload, mediaStorage delete.
async function platformTasks(client) {
  const upload = await client.mediaStorage({ operation: "upload", media: firstFrame() });
  const params = videoParams("t2v", 1);
  delete params.width;  // the stored frame's aspect chooses the size
  delete params.height;
  Object.assign(params, { resolution: "720p", inputs: { frameImages: [upload.mediaUUID] } });
  const results = await client.videoInference(params);
  const details = await client.getTaskDetails({ taskUUID: upload.taskUUID });
  const deleted = await client.mediaStorage({ operation: "delete", media: upload.mediaUUID });
  return { ok: true, upload, results, details, deleted };
}

function videoParams(scenario, numberResults) {
  const params = { model: "alibaba:wan@2.7", positivePrompt: PROMPT, width: 1280, height: 720, duration: 2,
    includeCost: true };
  if (numberResults !== 1) params.numberResults = numberResults;
  if (scenario === "invalid-size") Object.assign(params, { width: 1000, height: 1000 });
  if (scenario === "i2v") {
    params.inputs = { frameImages: [{ image: firstFrame(), frame: "first" }] };
  }
  return params;
}

// Rejections come as Error, a plain {error: {...}} object, or a string.
function describe(rejection) {
  if (rejection instanceof Error) return { error_class: rejection.constructor.name, code: rejection.code ?? null, message: rejection.message };
  if (typeof rejection === "string") return { error_class: "string", code: null, message: rejection };
  const error = rejection?.error ?? rejection;
  return { error_class: "object", code: error?.code ?? null, message: error?.message ?? JSON.stringify(rejection), error };
}

async function main() {
  let args = process.argv.slice(2);
  let numberResults = 1;
  if (args.length === 3 && args[0] === "--number-results" && /^[1-9]\d*$/.test(args[1])) {
    numberResults = Number(args[1]);
    args = args.slice(2);
  }
  const scenario = args[0];
  if (args.length !== 1 || !SCENARIOS.includes(scenario)) {
    fail(`usage: sdk_js_client.mjs [--number-results N] {${SCENARIOS.join("|")}}`);
  }
  const sdkHome = process.env.VIDMOCK_SDK_HOME || join(homedir(), ".cache", "vidmock-sdk");
  const { Runware } = await import(pathToFileURL(join(sdkHome, "node", "node_modules", "@runware", "sdk-js", "dist", "index.js")));
  const apiKey = scenario === "invalid-key"
    ? process.env.VIDMOCK_INVALID_API_KEY || "vidmock-not-a-configured-key"
    : requiredEnv("VIDMOCK_API_KEY");
  const client = new Runware({ apiKey, url: loopbackUrl(requiredEnv("VIDMOCK_WS_URL")), dryRun: scenario === "dry-run" });
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`client timeout after ${CLIENT_TIMEOUT_MS} ms`)), CLIENT_TIMEOUT_MS);
  });
  let outcome;
  try {
    if (scenario === "media") {
      outcome = await Promise.race([platformTasks(client), deadline]);
    } else {
      const params = { ...videoParams(scenario, numberResults), ...(scenario === "dry-run" && { skipResponse: true }) };
      const results = await Promise.race([client.videoInference(params), deadline]);
      outcome = { ok: true, results: Array.isArray(results) ? results : [results] };
    }
  } catch (rejection) {
    outcome = { ok: false, ...describe(rejection) };
  } finally {
    clearTimeout(timer);
    await client.disconnect();
  }
  // exit only once the line is written: a piped stdout is asynchronous, and exit() would cut a long one
  const status = process.env.VIDMOCK_CLIENT_STRICT === "1" ? strictStatus(outcome) : 0;
  process.stdout.write(`${JSON.stringify(outcome)}\n`, () => process.exit(status));  // the SDK may keep timers alive
}

function strictStatus(outcome) {
  if (!outcome.ok) {
    console.error(`the SDK rejected: ${outcome.code}: ${outcome.message}`);
    return 1;
  }
  if (outcome.results.some((result) => result?.NSFWContent)) {
    console.error("a result is flagged NSFWContent: not usable");
    return 1;
  }
  return 0;
}

main().catch((error) => fail(error?.stack ?? String(error)));
