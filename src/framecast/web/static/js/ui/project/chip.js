// The connection chip: which transport is live, and why it last changed.

import { transportLabel } from "../../delivery/transports.js";
import { setText } from "../dom.js";

/**
 * "SSE · live", "Polling · retrying", "Offline" …
 * @param {import("../../delivery/transports.js").TransportInfo} info
 */
export function chipLabel(info) {
  const name = transportLabel(info.transport);
  if (info.state === "connecting") return name ? `${name} · connecting` : "Connecting";
  if (info.state === "waiting") return name ? `${name} · retrying` : "Offline";
  if (info.state === "closed") return name ? `${name} · done` : "Done";
  return name ? `${name} · live` : "Live";
}

/**
 * @param {import("./card.js").CardParts} p
 * @param {import("../../delivery/transports.js").TransportInfo} info
 */
export function renderChip(p, info) {
  const label = chipLabel(info);
  p.chipEl.dataset.state = info.state;
  p.chipEl.dataset.transport = info.transport ?? "";
  setText(p.chipLabel, label);
  setText(p.chipReason, info.reason || "");
  p.chipEl.title = info.reason || label;
}
