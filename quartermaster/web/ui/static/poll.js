// Running a task again and again while the page is visible: at once, then `interval` ms after
// each run ends; paused while the tab is hidden, resumed (at once) when it shows again.
export function poll(task, interval = 2000) {
  let timer = null;
  let running = false;
  let stopped = false;

  async function tick() {
    timer = null;
    if (stopped || running || document.hidden) return;
    running = true;
    try {
      if ((await task()) === false) stopped = true; // the task says it is done
    } catch (error) {
      console.warn("poll:", error && error.message);
    } finally {
      running = false;
    }
    if (!stopped && !document.hidden) timer = setTimeout(tick, interval);
  }

  function onVisibility() {
    if (!document.hidden && timer === null) tick();
  }

  document.addEventListener("visibilitychange", onVisibility);
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  };
}
