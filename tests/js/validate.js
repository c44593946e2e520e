#!/usr/bin/env node
// Validate WebVTT files with the W3C parser (npm "webvtt-parser") and print one JSON report on stdout:
//   [{"file": path, "cues": n, "errors": [{"message", "line", "col"}]}, ...]
// Usage: node validate.js [--metadata] FILE...   (--metadata: parse cue text as a metadata track)
// Exit code: 0 when every file has zero errors, 1 otherwise, 2 on bad usage or an unreadable file.
"use strict";
const fs = require("fs");
const path = require("path");
const { WebVTTParser } = require("webvtt-parser");

const args = process.argv.slice(2);
const mode = args.includes("--metadata") ? "metadata" : "subtitles";
const files = args.filter((a) => a !== "--metadata");
if (files.length === 0) {
  process.stderr.write("usage: node validate.js [--metadata] FILE...\n");
  process.exit(2);
}
const entities = JSON.parse(
  fs.readFileSync(path.join(path.dirname(require.resolve("webvtt-parser")), "html-entities.json"), "utf8"),
);
const parser = new WebVTTParser(entities);
const report = [];
for (const file of files) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    process.stderr.write(`cannot read ${file}: ${e.message}\n`);
    process.exit(2);
  }
  const tree = parser.parse(text, mode);
  report.push({ file, cues: tree.cues.length, errors: tree.errors });
}
// exitCode, not process.exit(): exiting at once would cut a long report written to a pipe
process.exitCode = report.some((r) => r.errors.length > 0) ? 1 : 0;
process.stdout.write(JSON.stringify(report) + "\n");
