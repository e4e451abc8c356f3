/**
 * Runs `work` while `beat` is called every `everyMs` (and once at the start), and stops the timer
 * however `work` ends. Activities heartbeat so a long step stays alive and a dead worker is noticed
 * within the heartbeat timeout; `beat` carries the progress a retry resumes from, if any.
 */
export async function whileHeartbeating<T>(beat: () => void, everyMs: number, work: () => Promise<T>): Promise<T> {
  beat();
  const timer = setInterval(beat, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
