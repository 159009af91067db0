// Follow one project's events with the `eventsource` package (a WHATWG EventSource for node, pinned in
// package.json), exactly as a browser would: one URL for the object's whole life, reconnects with
// Last-Event-ID, stops for good on 204. Prints one JSON line per thing that happens; exits 0 when the
// EventSource is CLOSED, 2 if it never is. Run by tests/integration/test_real_clients.py.
import { EventSource } from "eventsource";

const url = process.argv[2];
const TYPES = [
  "hello", "ping", "resync", "problem", "message",
  "task_status", "render_progress", "file", "render_result", "project_status",
];
const out = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const source = new EventSource(url, {
  // The seam the package offers for its requests: here it only reports each one and its answer.
  fetch: async (input, init) => {
    out({ kind: "connect", url: String(input), lastEventId: init?.headers?.["Last-Event-ID"] ?? null });
    const response = await fetch(input, init);
    out({ kind: "response", status: response.status });
    return response;
  },
});
for (const type of TYPES) {
  source.addEventListener(type, (event) => out({ kind: "event", type, data: event.data }));
}
source.onerror = () => {
  out({ kind: "error", readyState: source.readyState });
  if (source.readyState === source.CLOSED) process.exit(0);
};
setTimeout(() => {
  out({ kind: "timeout" });
  process.exit(2);
}, 120_000);
