/**
 * A test's own timeline, printed when it ends, so a slow or failed run shows when each step
 * happened: `mark('killed')` records "12.3s killed", `text()` joins them with arrows.
 */
export function timeline(): { mark: (what: string) => void; text: () => string } {
  const marks: string[] = [];
  const t0 = Date.now();
  return {
    mark: (what) => marks.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`),
    text: () => marks.join(' → '),
  };
}
