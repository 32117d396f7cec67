import { h, link, statusBadge } from "./dom.js";

// A schedule's times: the server gives each tick in UTC (RFC 3339); the page shows it on the
// browser's clock and on the template's own zone's (where its cron reads the clock).

// This browser's zone, as Intl names it (an IANA name such as "Europe/Paris").
export const BROWSER_ZONE = new Intl.DateTimeFormat().resolvedOptions().timeZone;

const formats = new Map(); // zone → its Intl.DateTimeFormat (making one is not cheap)

// A UTC time as "2026-12-07 18:31 America/New_York": the wall clock of `zone` then (a tick's
// resolution is one minute), with the zone's name.
export function zonedTime(value, zone) {
  if (!formats.has(zone)) {
    const options = {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    };
    formats.set(zone, new Intl.DateTimeFormat("en-US", options));
  }
  const parts = Object.fromEntries(
    formats
      .get(zone)
      .formatToParts(instant(value))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${zone}`;
}

// An RFC 3339 time as a Date (the server gives nine digits of a second; Date's form has three).
export function instant(value) {
  return new Date(String(value).replace(/(\.\d{3})\d+/, "$1"));
}

// A tick in both zones: the browser's first, then the template's (one line when they are the
// same zone).
export function bothZones(value, zone) {
  return [
    h("div", { class: "in-browser" }, zonedTime(value, BROWSER_ZONE)),
    zone === BROWSER_ZONE ? null : h("div", { class: "in-template muted" }, zonedTime(value, zone)),
  ];
}

// The schedule in words ("At 03:00 (Europe/Berlin)"), marked when paused; a dash without one.
export function scheduleWords(schedule) {
  if (!schedule) return h("span", { class: "muted" }, "–");
  return [
    h("span", { class: "words" }, schedule.description),
    schedule.paused ? [" ", h("span", { class: "paused" }, "paused")] : null,
  ];
}

// What became of a tick: its outcome (a link to its job when it started one) and the job's
// status now.
export function tickOutcome(run) {
  const outcome = outcomeText(run.outcome);
  return [
    run.job_id ? link(["jobs", run.job_id], outcome) : outcome,
    run.status ? [" ", statusBadge(run.status)] : null,
  ];
}

export function jobLink(jobId) {
  return jobId ? link(["jobs", jobId], jobId) : "–";
}

// "fired", "skipped", "missed", "failed to start" or "firing" (being started).
export function outcomeText(outcome) {
  return h("span", { class: `outcome outcome-${String(outcome).replace(/[^a-z]+/g, "-")}` }, outcome);
}
